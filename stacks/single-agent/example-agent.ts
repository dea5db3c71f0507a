import { join } from 'node:path';
import { loadAgentFile, type AgentDefinition } from '../../contract/definition';

/** The example agent every stage-1 stack carries unless told otherwise, on either cloud. */
export const exampleAgent = (): AgentDefinition => loadAgentFile(join(__dirname, 'support.agent.yaml'));
