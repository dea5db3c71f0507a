import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobRecord } from '../../contract/jobs/job-record';
import { defineAgent } from '../../contract/definition';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import type { JobStore } from '../../functions/core/jobs/jobs';
import { ModelError } from '../../functions/core/models/types';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime } from '../../functions/entry/assemble';
import { OutputValidationError } from '../../functions/entry/outcome';
import { runQueued, type QueuedRun } from '../../functions/entry/queued';
import { ScriptedProvider, type ScriptStep } from '../__fixtures__/scripted-provider';
import { agentInput } from '../helpers';

/** Job records in memory, as both clouds' stores keep them: by run id. */
class MemoryJobStore implements JobStore {
  readonly history: JobRecord[] = [];
  async put(record: JobRecord): Promise<void> {
    this.history.push(record);
  }
  async get(jobId: string): Promise<JobRecord | undefined> {
    return this.history.filter((r) => r.jobId === jobId).at(-1);
  }
}

const run: QueuedRun = { runId: 'job-1', jobId: 'job-1', trigger: 'job', input: 'Triage ticket 7.' };
const answer = (dueBy: string) => ({ text: JSON.stringify({ category: 'billing', dueBy }) });

/** The runtime every entry point assembles, here on a scripted model and in-memory ports. */
async function runtime(script: ScriptStep[]) {
  const definition = defineAgent(
    agentInput({
      model: { provider: 'bedrock', model: 'model-a' },
      output: { schema: { type: 'object', required: ['category', 'dueBy'], properties: { category: { type: 'string' }, dueBy: { type: 'string' } } }, rules: [{ field: 'dueBy', check: 'future' }], maxRepairs: 0 },
    }),
  );
  const provider = new ScriptedProvider('model-a', script);
  const jobs = new MemoryJobStore();
  const events = new MemoryEventPublisher();
  const rt = await assembleRuntime(
    { definition, route: [{ provider: 'bedrock', model: 'model-a' }] },
    { jobs, events, metrics: new MemoryMetrics(), secret: async () => 'unused', providers: { bedrock: async () => provider } },
  );
  const lines: string[] = [];
  const deliver = (final = false) => runQueued(rt, run, { deadline: Date.now() + 30_000, final, log: (line) => lines.push(line) });
  return { provider, jobs, events, lines, deliver };
}

describe('the queued-run life cycle both clouds share', () => {
  it('runs a job once: a redelivery of a succeeded job returns its record without a model call', async () => {
    const { provider, jobs, events, deliver } = await runtime([answer('2099-01-01T00:00:00Z')]);
    const first = (await deliver()) as { stopReason: string };
    assert.equal(first.stopReason, 'end_turn');
    assert.deepEqual(jobs.history.map((r) => r.status), ['running', 'succeeded']);
    const again = (await deliver()) as JobRecord;
    assert.equal(again.status, 'succeeded');
    assert.equal(provider.requests.length, 1);
    assert.deepEqual(events.events.map((e) => [e.type, e.detail.jobId]), [['run.completed', 'job-1']]);
  });

  it('fails an answer that breaks its contract, announces it, and fails its redelivery without a model call', async () => {
    const { provider, jobs, events, deliver } = await runtime([answer('2001-01-01T00:00:00Z')]);
    await assert.rejects(deliver(), (e: Error) => e instanceof OutputValidationError && /dueBy: must be in the future/.test(e.message));
    assert.equal((await jobs.get('job-1'))!.status, 'failed');
    assert.deepEqual(events.events.map((e) => e.type), ['run.failed']);
    await assert.rejects(deliver(), /run job-1 already failed and will not be retried/);
    assert.equal(provider.requests.length, 1);
  });

  it('puts a run that threw back to queued with the reason, silently, while a delivery may still come', async () => {
    const { jobs, events, lines, deliver } = await runtime([new ModelError('client', 'bad request')]);
    await assert.rejects(deliver(), /bad request/);
    const record = (await jobs.get('job-1'))!;
    assert.equal(record.status, 'queued');
    assert.match(record.error!, /bad request/);
    assert.deepEqual(events.events, []);
    assert.match(lines[0]!, /"message":"run failed; it will be delivered again"/);
  });

  it('fails and announces a run that threw on its last delivery', async () => {
    const { jobs, events, lines, deliver } = await runtime([new ModelError('client', 'bad request')]);
    await assert.rejects(deliver(true), /bad request/);
    assert.equal((await jobs.get('job-1'))!.status, 'failed');
    assert.deepEqual(events.events.map((e) => [e.type, e.detail.jobId, e.detail.trigger]), [['run.failed', 'job-1', 'job']]);
    assert.match(lines[0]!, /"message":"run failed for the last time"/);
  });
});
