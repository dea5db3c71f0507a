import { defineAgent } from '../../contract/definition';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime } from '../../functions/entry/assemble';
import { agentInput } from '../helpers';
import { ScriptedProvider, type ScriptStep } from './scripted-provider';

let models = 0;

/**
 * The runtime every entry point assembles, on a scripted model and in-memory ports, for an agent
 * whose answers must be `{ category, dueBy }` with `dueBy` in the future. Each gets a model of its
 * own: circuit breakers are per target and process-wide.
 */
export async function memoryRuntime(script: ScriptStep[], options: { jobs?: boolean } = {}) {
  const model = `model-${++models}`;
  const definition = defineAgent(
    agentInput({
      model: { provider: 'bedrock', model },
      output: { schema: { type: 'object', required: ['category', 'dueBy'], properties: { category: { type: 'string' }, dueBy: { type: 'string' } } }, rules: [{ field: 'dueBy', check: 'future' }], maxRepairs: 0 },
    }),
  );
  const provider = new ScriptedProvider(model, script);
  const jobs = new MemoryJobStore();
  const events = new MemoryEventPublisher();
  const rt = await assembleRuntime(
    { definition, route: [{ provider: 'bedrock', model }] },
    { ...(options.jobs !== false && { jobs }), events, metrics: new MemoryMetrics(), secret: async () => 'unused', providers: { bedrock: async () => provider } },
  );
  return { provider, jobs, events, rt };
}

/** A scripted answer the agent's contract accepts (a future `dueBy`) or refuses (a past one). */
export const answer = (dueBy: string) => ({ text: JSON.stringify({ category: 'billing', dueBy }) });
