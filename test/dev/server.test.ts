import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { defineAgent } from '../../contract/definition';
import { startDevServer, type DevServer } from '../../functions/dev/server';
import { MemoryAuditSink, type RunRecord } from '../../functions/core/audit/records';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { resetBreakers } from '../../functions/core/models/circuit-breaker';
import { ModelError, type ModelProvider } from '../../functions/core/models/types';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime } from '../../functions/entry/assemble';
import { agentInput } from '../helpers';
import { toResponse } from '../__fixtures__/scripted-provider';

/**
 * The dev server over HTTP: the deployed API's routes and answers, on loopback, with a model that
 * answers or is down as each test says.
 */
let server: DevServer;
const audit = new MemoryAuditSink();
const model = { down: false, answer: 'Refund issued.' };
const provider: ModelProvider = {
  provider: 'scripted',
  model: 'dev-model',
  complete: async () => {
    if (model.down) throw new ModelError('server', 'the model is down', 500);
    return toResponse({ text: model.answer });
  },
};

before(async () => {
  resetBreakers();
  const runtime = (definition: ReturnType<typeof defineAgent>) =>
    assembleRuntime(
      { definition, route: [{ provider: 'bedrock', model: 'dev-model' }] },
      { jobs: new MemoryJobStore(), events: new MemoryEventPublisher(), metrics: new MemoryMetrics(), secret: async () => 'unused', providers: { bedrock: async () => provider }, audit },
    );
  const support = defineAgent(agentInput({ name: 'support', triggers: [{ type: 'api' }, { type: 'job' }] }));
  const digest = defineAgent(agentInput({ name: 'digest', triggers: [{ type: 'schedule', expression: 'cron(0 8 ? * MON-FRI *)', input: 'Summarize yesterday.' }, { type: 'event', pattern: { source: ['orders'] } }] }));
  server = await startDevServer({ agents: [await runtime(support), await runtime(digest)], audit, log: () => {} });
});

after(() => server?.close());

const send = async (method: string, path: string, body?: unknown, type = 'application/json') => {
  const response = await fetch(`${server.url}${path}`, { method, ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': type } }) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

describe('npm run dev: the deployed API on loopback', () => {
  it('listens on loopback only unless told', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('runs an invocation and answers as the deployed API does', async () => {
    model.down = false;
    const { status, body } = await send('POST', '/agents/support/invocations', { input: 'I was charged twice.' });
    assert.equal(status, 200);
    assert.equal(body.output, 'Refund issued.');
    assert.equal(body.stopReason, 'end_turn');
  });

  it('refuses bad input with the reasons the deployed API gives', async () => {
    const cases: [string, string, unknown, string | undefined, number, RegExp][] = [
      ['POST', '/agents/support/invocations', '{not json', undefined, 400, /invalid request body: the body is not JSON/],
      ['POST', '/agents/support/invocations', { question: 'x' }, undefined, 400, /invalid request body: .*input/],
      ['POST', '/agents/support/invocations', { input: '' }, undefined, 400, /invalid request body/],
      ['POST', '/agents/support/invocations', 'input=x', 'application/x-www-form-urlencoded', 415, /application\/json/],
      ['POST', '/agents/nobody/invocations', { input: 'x' }, undefined, 404, /no agent nobody \(this app has support, digest\)/],
      ['GET', '/agents/support/invocations', undefined, undefined, 405, /GET is not served/],
      ['GET', '/agents/support/jobs/bad%20id', undefined, undefined, 400, /a job id must be/],
      ['GET', '/agents/support/jobs/no-such-job', undefined, undefined, 404, /no job no-such-job for agent support/],
      ['GET', '/nowhere', undefined, undefined, 404, /no route GET \/nowhere/],
    ];
    for (const [method, path, body, type, status, message] of cases) {
      const answer = await send(method, path, body, type);
      assert.equal(answer.status, status, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(answer.body.message, message, `${method} ${path}`);
    }
  });

  it('queues a job, runs it, and shows its record on the status route', async () => {
    model.down = false;
    const accepted = await send('POST', '/agents/support/jobs', { input: 'Review the charges.', idempotencyKey: 'review-1' });
    assert.equal(accepted.status, 202);
    assert.deepEqual([accepted.body.jobId, accepted.body.status, accepted.body.statusUrl], ['review-1', 'queued', '/agents/support/jobs/review-1']);
    await server.queue.idle();
    const { status, body } = await send('GET', '/agents/support/jobs/review-1');
    assert.deepEqual([status, body.status, body.output], [200, 'succeeded', 'Refund issued.']);
    const again = await send('POST', '/agents/support/jobs', { input: 'Something else.', idempotencyKey: 'review-1' });
    assert.equal(again.status, 409, 'the same key with another body');
  });

  it('delivers a failing job again, dead-letters it after its last delivery, and runs it when redriven', async () => {
    model.down = true;
    const accepted = await send('POST', '/agents/support/jobs', { input: 'Review again.', idempotencyKey: 'review-2' });
    assert.equal(accepted.status, 202);
    await server.queue.idle();
    const dead = await send('GET', '/agents/support/jobs/review-2');
    assert.deepEqual([dead.body.status, dead.body.deliveries], ['dead_lettered', 3]);
    const letters = (await send('GET', '/dev/dead-letters')).body.deadLetters as Record<string, any>[];
    assert.deepEqual(letters.map((l) => [l.agent, l.run.jobId, l.run.trigger, l.deliveries]), [['support', 'review-2', 'job', 3]]);
    assert.match(letters[0]!.error, /model|available/i);

    model.down = false;
    resetBreakers();
    assert.equal((await send('POST', '/dev/dead-letters/review-2/redrive')).status, 202);
    await server.queue.idle();
    const redriven = await send('GET', '/agents/support/jobs/review-2');
    assert.deepEqual([redriven.body.status, redriven.body.output], ['succeeded', 'Refund issued.']);
    assert.deepEqual((await send('GET', '/dev/dead-letters')).body.deadLetters, []);
    assert.equal((await send('POST', '/dev/dead-letters/review-2/redrive')).status, 404, 'nothing left to redrive');
    const jobs = (await send('GET', '/dev/jobs')).body.jobs as Record<string, any>[];
    assert.deepEqual(jobs.filter((j) => j.jobId.startsWith('review-')).map((j) => [j.jobId, j.status]).sort(), [['review-1', 'succeeded'], ['review-2', 'succeeded']]);
  });

  it('fires a schedule and sends an event on demand, each run as its queue would run it', async () => {
    model.down = false;
    const fired = await send('POST', '/dev/agents/digest/schedules/0');
    const sent = await send('POST', '/dev/agents/digest/events', { source: 'orders', 'detail-type': 'order.refunded', detail: { orderId: 'ord_1' } });
    assert.deepEqual([fired.status, sent.status], [202, 202]);
    await server.queue.idle();
    const runs = audit.records.filter((r): r is RunRecord => r.type === 'run' && r.agent === 'digest');
    assert.deepEqual(runs.map((r) => [r.trigger, r.runId]).sort(), [['event', sent.body.runId], ['schedule', fired.body.runId]].sort());
    assert.equal(runs.find((r) => r.trigger === 'schedule')!.input, 'Summarize yesterday.');
    assert.deepEqual((runs.find((r) => r.trigger === 'event')!.input as Record<string, unknown>).source, 'orders');
    assert.match((await send('POST', '/dev/agents/digest/schedules/3')).body.message, /no schedule 3 \(it has 1\)/);
    assert.match((await send('POST', '/dev/agents/support/events', { a: 1 })).body.message, /no event trigger/);
    assert.equal((await send('POST', '/dev/agents/digest/events', [1, 2])).status, 400);
  });

  it('refuses what a web page of another site sends, and names that resolve to it from elsewhere', async () => {
    const raw = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(`${server.url}/agents/support/invocations`);
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ input: 'hi' }));
      });
    const fromElsewhere = await raw({ origin: 'https://evil.example.com' });
    assert.equal(fromElsewhere.status, 403);
    assert.match(fromElsewhere.body, /requests from https:\/\/evil\.example\.com are refused/);
    const rebound = await raw({ host: 'attacker.example.com:8787' });
    assert.equal(rebound.status, 403);
    assert.match(rebound.body, /host attacker\.example\.com is refused/);
    model.down = false;
    assert.equal((await raw({ origin: server.url })).status, 200, 'its own console');
  });
});
