import { join } from 'node:path';
import { loadAgentFile, type AgentDefinition } from '../../contract/definition';

/** The stage-2 example team, the same definitions on either cloud: triage and its two specialists. */
export const exampleTeam = (): AgentDefinition[] => ['triage', 'billing', 'technical'].map((name) => loadAgentFile(join(__dirname, `${name}.agent.yaml`)));
