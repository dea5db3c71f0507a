import { join } from 'node:path';
import { loadAgentFile, type AgentDefinition } from '../../contract/definition';

/** The stage-3 example, the same definitions on either cloud: a serverless intake agent and a research agent in a container. */
export const exampleHybrid = (): AgentDefinition[] => ['intake', 'research'].map((name) => loadAgentFile(join(__dirname, `${name}.agent.yaml`)));
