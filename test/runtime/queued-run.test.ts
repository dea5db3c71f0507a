import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobRecord } from '../../contract/jobs/job-record';
import { ModelError } from '../../functions/core/models/types';
import { RetryableRunError } from '../../functions/entry/outcome';
import { runQueued, type QueuedRun } from '../../functions/entry/queued';
import { answer, memoryRuntime } from '../__fixtures__/memory-runtime';
import type { ScriptStep } from '../__fixtures__/scripted-provider';

const run: QueuedRun = { runId: 'job-1', jobId: 'job-1', trigger: 'job', input: 'Triage ticket 7.' };
/** The shared runtime, delivering `run` as a queue would. */
async function runtime(script: ScriptStep[]) {
  const { provider, jobs, events, rt } = await memoryRuntime(script);
  const lines: string[] = [];
  const deliver = (last?: 'dead_lettered' | 'failed') => runQueued(rt, run, { deadline: Date.now() + 30_000, ...(last && { lastDelivery: last }), log: (line) => lines.push(line) });
  return { provider, jobs, events, lines, deliver, rt };
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

  it('fails an answer that breaks its contract at once, announces it, and runs nothing on a redelivery', async () => {
    const { provider, jobs, events, deliver } = await runtime([answer('2001-01-01T00:00:00Z')]);
    const done = (await deliver()) as { status: string; error: string };
    assert.equal(done.status, 'failed');
    assert.match(done.error, /the answer failed validation: dueBy: must be in the future/);
    const record = (await jobs.get('job-1'))!;
    assert.deepEqual([record.status, record.validation?.ok], ['failed', false]);
    assert.deepEqual(events.events.map((e) => [e.type, e.detail.status]), [['run.failed', 'failed']]);
    assert.equal(((await deliver()) as JobRecord).status, 'failed');
    assert.equal(provider.requests.length, 1);
  });

  it('fails a run a model refuses as a bad request at once: model_error, no retry', async () => {
    const { jobs, events, deliver } = await runtime([new ModelError('client', 'bad request', 400)]);
    await deliver();
    const record = (await jobs.get('job-1'))!;
    assert.deepEqual([record.status, record.stopReason], ['failed', 'model_error']);
    assert.match(record.error!, /a model refused the request: model call failed: bad request/);
    assert.deepEqual(events.events.map((e) => e.type), ['run.failed']);
  });

  it('puts a run no model could answer back to queued with the reason, silently, while a delivery may still come', async () => {
    const { jobs, events, lines, deliver } = await runtime([new ModelError('overloaded', 'overloaded', 529), new ModelError('overloaded', 'overloaded', 529), new ModelError('overloaded', 'overloaded', 529)]);
    await assert.rejects(deliver(), (e: Error) => e instanceof RetryableRunError && /no model was available/.test(e.message));
    const record = (await jobs.get('job-1'))!;
    assert.deepEqual([record.status, record.stopReason, record.deliveries], ['queued', 'model_unavailable', 1]);
    assert.deepEqual(events.events, []);
    assert.match(lines[0]!, /"message":"run failed; it will be delivered again"/);
  });

  it('dead-letters a run that fails on its last delivery, and runs a redriven one again', async () => {
    const down = new ModelError('overloaded', 'overloaded', 529);
    const { jobs, events, lines, deliver } = await runtime([down, down, down, answer('2099-01-01T00:00:00Z')]);
    await assert.rejects(deliver('dead_lettered'), RetryableRunError);
    assert.equal((await jobs.get('job-1'))!.status, 'dead_lettered');
    assert.deepEqual(events.events.map((e) => [e.type, e.detail.jobId, e.detail.status]), [['run.failed', 'job-1', 'dead_lettered']]);
    assert.match(lines[0]!, /"message":"run failed for the last time"/);
    // An operator redrives the message from the dead-letter queue: it runs, and can succeed.
    await deliver();
    assert.deepEqual([(await jobs.get('job-1'))!.status, (await jobs.get('job-1'))!.deliveries], ['succeeded', 2]);
  });

  it('ends a timer run that fails as failed, since nothing dead-letters a timer', async () => {
    const down = new ModelError('overloaded', 'overloaded', 529);
    const { jobs, deliver } = await runtime([down, down, down]);
    await assert.rejects(deliver('failed'));
    assert.equal((await jobs.get('job-1'))!.status, 'failed');
  });

  it('counts deliveries for a source that does not (Event Grid), and dead-letters on the last one', async () => {
    const down = new ModelError('overloaded', 'overloaded', 529);
    const { rt, jobs } = await runtime([down, down, down, down, down, down]);
    const deliver = () => runQueued(rt, run, { deadline: Date.now() + 30_000, maxDeliveries: 2, log: () => {} });
    await assert.rejects(deliver(), RetryableRunError);
    assert.deepEqual([(await jobs.get('job-1'))!.status, (await jobs.get('job-1'))!.deliveries], ['queued', 1]);
    await assert.rejects(deliver(), RetryableRunError);
    assert.deepEqual([(await jobs.get('job-1'))!.status, (await jobs.get('job-1'))!.deliveries], ['dead_lettered', 2]);
  });
});

describe('two deliveries of one run at the same moment', () => {
  it('run it once: the first claims its record, the other runs nothing', async () => {
    const { provider, rt } = await memoryRuntime([answer('2099-01-01T00:00:00Z'), answer('2099-01-01T00:00:00Z')]);
    const event: QueuedRun = { runId: 'evt-9', trigger: 'event', input: { ticket: 9 } };
    const lines: string[] = [];
    const results = (await Promise.all([0, 1].map(() => runQueued(rt, event, { deadline: Date.now() + 30_000, log: (line) => lines.push(line) })))) as { status?: string }[];
    assert.equal(provider.requests.length, 1);
    assert.equal(results.filter((r) => r.status === 'running').length, 1);
    assert.match(lines.join('\n'), /run already claimed by another delivery/);
  });

  it('run a job the API already recorded once too: only one write over the queued record wins', async () => {
    const { provider, jobs, events, rt } = await memoryRuntime([answer('2099-01-01T00:00:00Z'), answer('2099-01-01T00:00:00Z')]);
    await jobs.put({ jobId: 'job-7', agent: rt.config.definition.name, status: 'queued', updatedAt: new Date().toISOString() });
    const job: QueuedRun = { runId: 'job-7', jobId: 'job-7', trigger: 'job', input: 'Triage ticket 7.' };
    const lines: string[] = [];
    await Promise.all([0, 1].map(() => runQueued(rt, job, { deadline: Date.now() + 30_000, log: (line) => lines.push(line) })));
    assert.equal(provider.requests.length, 1, 'one model call: one run');
    assert.deepEqual(jobs.history.map((r) => r.status), ['queued', 'running', 'succeeded']);
    assert.equal(events.events.length, 1, 'announced once');
    assert.match(lines.join('\n'), /run already claimed by another delivery/);
  });

  it('runs a job a crashed delivery left running: the next delivery writes over that record and owns it', async () => {
    const { provider, jobs, rt } = await memoryRuntime([answer('2099-01-01T00:00:00Z')]);
    await jobs.put({ jobId: 'job-8', agent: rt.config.definition.name, status: 'running', updatedAt: new Date().toISOString(), deliveries: 1 });
    await runQueued(rt, { runId: 'job-8', jobId: 'job-8', trigger: 'job', input: 'Triage ticket 8.' }, { deadline: Date.now() + 30_000 });
    assert.equal(provider.requests.length, 1);
    assert.deepEqual(jobs.history.at(-1)?.status, 'succeeded');
    assert.equal(jobs.history.at(-1)?.deliveries, 2);
  });

  it('let only the delivery that claimed last record and announce: one overtaken mid-run ends quietly', async () => {
    const takeover: JobRecord = { jobId: 'job-9', agent: 'helper', status: 'running', updatedAt: new Date().toISOString(), deliveries: 2 };
    // While this delivery's model answers, another delivery (it took this one for dead) claims the run.
    const { provider, jobs, events, rt } = await memoryRuntime([
      () => {
        jobs.history.push(takeover);
        return answer('2099-01-01T00:00:00Z');
      },
    ]);
    const lines: string[] = [];
    const result = (await runQueued(rt, { runId: 'job-9', jobId: 'job-9', trigger: 'job', input: 'Triage ticket 9.' }, { deadline: Date.now() + 30_000, log: (line) => lines.push(line) })) as JobRecord;
    assert.equal(provider.requests.length, 1);
    assert.deepEqual(jobs.history.at(-1), takeover, 'the record is the owner\'s, untouched');
    assert.equal(result.status, 'running');
    assert.deepEqual(events.events, [], 'nothing announced');
    assert.match(lines.join('\n'), /another delivery took the run over/);
  });

  it('hand a retryable run back quietly when another delivery took it over: no throw, no second delivery', async () => {
    const { jobs, rt } = await memoryRuntime([
      () => {
        jobs.history.push({ jobId: 'job-10', agent: 'helper', status: 'running', updatedAt: new Date().toISOString(), deliveries: 2 });
        return new ModelError('overloaded', 'overloaded', 529);
      },
      new ModelError('overloaded', 'overloaded', 529),
      new ModelError('overloaded', 'overloaded', 529),
    ]);
    const result = (await runQueued(rt, { runId: 'job-10', jobId: 'job-10', trigger: 'job', input: 'Triage ticket 10.' }, { deadline: Date.now() + 30_000, log: () => {} })) as JobRecord;
    assert.equal(result.status, 'running');
    assert.equal(jobs.history.at(-1)?.deliveries, 2);
  });

  it('leaves a timer\'s run to the firing already running it, and takes over one whose function died', async () => {
    const { provider, jobs, rt } = await memoryRuntime([answer('2099-01-01T00:00:00Z')]);
    const timerRun: QueuedRun = { runId: 'schedule-0-20261201T0600Z', trigger: 'schedule', input: 'Digest.' };
    const fresh = { jobId: timerRun.runId, agent: 'helper', status: 'running' as const, updatedAt: new Date().toISOString(), deliveries: 1 };
    await jobs.put(fresh);
    const again = await runQueued(rt, timerRun, { deadline: Date.now() + 30_000, lastDelivery: 'failed', log: () => {} });
    assert.deepEqual(again, fresh);
    assert.equal(provider.requests.length, 0);
    // Past the run's timeout and the margin to write its results, the firing that held it is taken for dead.
    await jobs.put({ ...fresh, updatedAt: new Date(Date.now() - (120 + 31) * 1000).toISOString() });
    await runQueued(rt, timerRun, { deadline: Date.now() + 30_000, lastDelivery: 'failed', log: () => {} });
    assert.equal(provider.requests.length, 1);
    assert.equal((await jobs.get(timerRun.runId))!.status, 'succeeded');
  });
});
