import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestBody } from '../../contract/api/request';
import { ModelError } from '../../functions/core/models/types';
import { acceptJob, answerOnce, requestFingerprint } from '../../functions/entry/idempotency';
import { answer, memoryRuntime } from '../__fixtures__/memory-runtime';

/**
 * Caller idempotency keys as both clouds' entry points apply them (functions/entry/idempotency.ts),
 * on in-memory ports; the AWS bundle and Azure handler tests drive the same code through each
 * cloud's real store.
 */

const future = '2099-01-01T00:00:00Z';
const request = (requestId = 'req') => ({ requestId, deadline: Date.now() + 30_000 });
const body = (input: RequestBody['input'], idempotencyKey?: string): RequestBody => ({ input, ...(idempotencyKey && { idempotencyKey }) });

describe('idempotency keys on invocations', () => {
  it('runs every request without a key, each under its request id', async () => {
    const { rt, provider } = await memoryRuntime([answer(future), answer(future)]);
    const first = await answerOnce(rt, body('Triage ticket 7.'), request('r-1'));
    const second = await answerOnce(rt, body('Triage ticket 7.'), request('r-2'));
    assert.deepEqual([(first.body as { runId: string }).runId, (second.body as { runId: string }).runId], ['r-1', 'r-2']);
    assert.equal(provider.requests.length, 2);
  });

  it('answers the same key and body with the stored answer, and another body with 409 naming the key', async () => {
    const { rt, provider, events } = await memoryRuntime([answer(future)]);
    const first = await answerOnce(rt, body({ ticket: 7, text: 'late' }, 'k-1'), request());
    const again = await answerOnce(rt, body({ text: 'late', ticket: 7 }, 'k-1'), request());
    assert.deepEqual(again, { status: first.status, body: first.body });
    assert.equal(provider.requests.length, 1);
    assert.equal(events.events.filter((e) => e.type === 'run.completed').length, 1, 'a replay announces nothing');
    const other = await answerOnce(rt, body({ ticket: 8, text: 'late' }, 'k-1'), request());
    assert.equal(other.status, 409);
    assert.deepEqual(other.body, {
      message: 'idempotency key "k-1" was already used for a different request (another input or session, or a job); send a new key with a new request',
      idempotencyKey: 'k-1',
    });
    const session = await answerOnce(rt, { ...body({ ticket: 7, text: 'late' }, 'k-1'), sessionId: 's-2' }, request());
    assert.equal(session.status, 409, 'another session is another request');
  });

  it('replays a failed answer too: a broken contract fails the same way without another run', async () => {
    const { rt, provider } = await memoryRuntime([answer('2001-01-01T00:00:00Z')]);
    const first = await answerOnce(rt, body('Triage ticket 9.', 'k-2'), request());
    const again = await answerOnce(rt, body('Triage ticket 9.', 'k-2'), request());
    assert.equal(first.status, 422);
    assert.deepEqual(again, { status: 422, body: first.body });
    assert.equal(provider.requests.length, 1);
  });

  it('refuses a key whose request is still running with a retryable 409, and runs it again once its function must have died', async () => {
    const { rt, jobs, provider } = await memoryRuntime([answer(future)]);
    const fingerprint = requestFingerprint('invocation', body('Triage ticket 10.', 'k-3'));
    await jobs.put({ jobId: 'k-3', agent: rt.config.definition.name, status: 'running', updatedAt: new Date().toISOString(), deliveries: 1, request: fingerprint });
    const busy = await answerOnce(rt, body('Triage ticket 10.', 'k-3'), request());
    assert.equal(busy.status, 409);
    assert.deepEqual(busy.body, { message: 'a request with idempotency key "k-3" is still running; retry later', idempotencyKey: 'k-3', retryable: true });
    assert.equal(provider.requests.length, 0);
    // Older than the agent's timeout: the function that ran it is gone.
    const stale = new Date(Date.now() - (rt.config.definition.limits.timeoutSeconds + 31) * 1000).toISOString();
    await jobs.put({ jobId: 'k-3', agent: rt.config.definition.name, status: 'running', updatedAt: stale, deliveries: 1, request: fingerprint });
    assert.equal((await answerOnce(rt, body('Triage ticket 10.', 'k-3'), request())).status, 200);
    assert.equal((await jobs.get('k-3'))?.deliveries, 2);
  });

  it('runs a key again after a retryable ending, and replays once it succeeded', async () => {
    const down = new ModelError('overloaded', 'overloaded', 529);
    const { rt, provider, jobs } = await memoryRuntime([down, down, down, answer(future)]);
    const first = await answerOnce(rt, body('Triage ticket 11.', 'k-4'), request());
    assert.equal(first.status, 503);
    assert.deepEqual([(await jobs.get('k-4'))?.status, (await jobs.get('k-4'))?.retryable], ['failed', true]);
    const second = await answerOnce(rt, body('Triage ticket 11.', 'k-4'), request());
    assert.equal(second.status, 200);
    const third = await answerOnce(rt, body('Triage ticket 11.', 'k-4'), request());
    assert.deepEqual(third, { status: 200, body: second.body });
    assert.equal(provider.requests.length, 4);
  });

  it('refuses a key when the agent keeps no records to honour it, instead of running without it', async () => {
    const { rt, provider } = await memoryRuntime([answer(future)], { jobs: false });
    const refused = await answerOnce(rt, body('Triage ticket 12.', 'k-5'), request('r-5'));
    assert.equal(refused.status, 400);
    assert.match((refused.body as { message: string }).message, /cannot honour idempotency key "k-5"/);
    assert.equal(provider.requests.length, 0);
  });

  it('lets one of two simultaneous requests with a key run, and tells the other it is running', async () => {
    const { rt, provider } = await memoryRuntime([answer(future)]);
    const [a, b] = await Promise.all([answerOnce(rt, body('Triage ticket 13.', 'k-6'), request()), answerOnce(rt, body('Triage ticket 13.', 'k-6'), request())]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
    assert.equal(provider.requests.length, 1);
  });

  it('lets one of two simultaneous retries of a key that ended retryably run', async () => {
    const down = new ModelError('overloaded', 'overloaded', 529);
    const { rt, provider } = await memoryRuntime([down, down, down, answer(future), answer(future)]);
    assert.equal((await answerOnce(rt, body('Triage ticket 14.', 'k-7'), request())).status, 503);
    const [a, b] = await Promise.all([answerOnce(rt, body('Triage ticket 14.', 'k-7'), request()), answerOnce(rt, body('Triage ticket 14.', 'k-7'), request())]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
    assert.equal(provider.requests.length, 4, 'three failed attempts, then one run');
  });
});

describe('idempotency keys on jobs', () => {
  const statusUrl = (jobId: string) => `/agents/support/jobs/${jobId}`;

  it('queues a job once per key, sends it again only while untouched, and refuses another body', async () => {
    const { rt, jobs } = await memoryRuntime([]);
    const sent: string[] = [];
    const send = async ({ jobId }: { jobId: string }) => void sent.push(jobId);
    const submit = (input: string) => acceptJob(rt, body(input, 'job-k'), { newJobId: 'fresh', statusUrl }, send);
    assert.deepEqual(await submit('Triage ticket 20.'), { status: 202, body: { jobId: 'job-k', status: 'queued', statusUrl: '/agents/support/jobs/job-k' } });
    assert.equal((await submit('Triage ticket 20.')).status, 202);
    assert.deepEqual(sent, ['job-k', 'job-k'], 'untouched: the first send may have been lost');
    await jobs.put({ ...(await jobs.get('job-k'))!, status: 'running', deliveries: 1 });
    assert.deepEqual((await submit('Triage ticket 20.')).body, { jobId: 'job-k', status: 'running', statusUrl: '/agents/support/jobs/job-k' });
    assert.equal(sent.length, 2, 'a job a delivery touched is not sent again');
    const other = await submit('Triage ticket 21.');
    assert.equal(other.status, 409);
    assert.match((other.body as { message: string }).message, /idempotency key "job-k" was already used for a different request/);
    assert.equal(sent.length, 2);
  });

  it('gives a job without a key the id it was offered', async () => {
    const { rt, jobs } = await memoryRuntime([]);
    const reply = await acceptJob(rt, body('Triage ticket 22.'), { newJobId: 'req-22', statusUrl }, async () => {});
    assert.equal((reply.body as { jobId: string }).jobId, 'req-22');
    assert.equal((await jobs.get('req-22'))?.status, 'queued');
  });
});
