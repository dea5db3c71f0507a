import { defineAgent, type AgentDefinition, type AgentDefinitionInput } from '../../contract/definition';
import { AgentTeamGraph } from '../../contract/chain/team';
import { MemoryAuditSink, type AuditSink, type RunRecord } from '../../functions/core/audit/records';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime } from '../../functions/entry/assemble';
import { LocalAgentTeam } from '../../functions/local/team';
import { agentInput } from '../helpers';
import { ScriptedProvider, type ScriptStep } from './scripted-provider';

/** The stage-2 shape in tests: a triage orchestrator that calls billing and hands off to technical. */
export function teamDefinitions(overrides: Partial<Record<'triage' | 'billing' | 'technical', Partial<AgentDefinitionInput>>> = {}): AgentDefinition[] {
  return [
    defineAgent(
      agentInput({
        name: 'triage',
        description: 'Routes support requests.',
        tools: [{ name: 'ask_billing', kind: 'agent', agent: 'billing', description: 'Ask the billing specialist.' }],
        handoffs: ['technical'],
        ...overrides.triage,
      }),
    ),
    defineAgent(agentInput({ name: 'billing', description: 'Answers billing questions.', ...overrides.billing })),
    defineAgent(agentInput({ name: 'technical', description: 'Solves technical problems.', ...overrides.technical })),
  ];
}

let models = 0;

/**
 * Each agent of `definitions` on a scripted model of its own, in one in-process team with memory
 * stores; audit records also go to `options.audit` when given.
 */
export async function memoryTeam(definitions: AgentDefinition[], scripts: Record<string, ScriptStep[]>, options: { prices?: number; maxDeliveries?: number; audit?: AuditSink } = {}) {
  const graph = new AgentTeamGraph(definitions);
  const audit = new MemoryAuditSink();
  const also = options.audit;
  const sink: AuditSink = also
    ? {
        write: async (records) => {
          await audit.write(records);
          await also.write(records);
        },
      }
    : audit;
  const events = new MemoryEventPublisher();
  const team = new LocalAgentTeam(undefined, { ...(options.maxDeliveries && { maxDeliveries: options.maxDeliveries }), log: () => {} });
  const providers: Record<string, ScriptedProvider> = {};
  const jobs: Record<string, MemoryJobStore> = {};
  for (const definition of definitions) {
    const model = `team-model-${++models}`;
    const provider = (providers[definition.name] = new ScriptedProvider(model, scripts[definition.name] ?? []));
    const store = (jobs[definition.name] = new MemoryJobStore());
    team.add(
      await assembleRuntime(
        {
          definition,
          route: [{ provider: 'bedrock', model }],
          // USD per million tokens: a scripted turn (100 in, 20 out) costs 0.0036 at 20/80.
          ...(options.prices && { prices: { [model]: { inputPerMTok: options.prices, outputPerMTok: options.prices * 4 } } }),
          callers: graph.callersOf(definition.name),
        },
        { jobs: store, events: team.events(events), audit: sink, metrics: new MemoryMetrics(), secret: async () => 'unused', providers: { bedrock: async () => provider }, delegates: team.delegates(), inbox: team.inbox },
      ),
    );
  }
  const runs = () => audit.records.filter((r): r is RunRecord => r.type === 'run');
  return { team, providers, jobs, events, audit, runs };
}
