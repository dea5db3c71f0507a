import { join } from 'node:path';
import { defineAgent, loadAgentFile, type AgentDefinition } from '../../contract/definition';

/**
 * The fleet example: hundreds of agents generated from a few templates, as a platform team that
 * serves many product teams would have them (one per product line, region or customer segment).
 * Each template is the stage-1 support agent with other triggers: a plain API agent, the support
 * agent as it is (API, jobs and a weekday schedule), and a queue worker.
 */
const TEMPLATES = ['api', 'support', 'worker'] as const;

export function fleetAgents(count: number): AgentDefinition[] {
  const support = loadAgentFile(join(__dirname, '..', 'single-agent', 'support.agent.yaml'));
  const { version: _, promptVersion: __, ...base } = support;
  const triggers: Record<(typeof TEMPLATES)[number], AgentDefinition['triggers']> = {
    api: [{ type: 'api' }],
    support: support.triggers,
    worker: [{ type: 'queue' }],
  };
  return Array.from({ length: count }, (_, i) => {
    const template = TEMPLATES[i % TEMPLATES.length]!;
    const name = `${template}-${String(i + 1).padStart(4, '0')}`;
    return defineAgent({ ...base, name, description: `${support.description} (fleet agent ${i + 1}, ${template} template)`, triggers: [...triggers[template]] });
  });
}
