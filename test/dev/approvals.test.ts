import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { defineAgent } from '../../contract/definition';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import type { ModelProvider } from '../../functions/core/models/types';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { DevApprovals } from '../../functions/dev/approvals';
import { startDevServer, type DevServer } from '../../functions/dev/server';
import { assembleRuntime } from '../../functions/entry/assemble';
import { agentInput } from '../helpers';
import { toResponse } from '../__fixtures__/scripted-provider';

/**
 * A durable agent on the dev server: its job waits on a tool call that needs a person, the
 * approvals route decides it as deployed, and the run goes on (or not) with the decision.
 */
let server: DevServer;
let backend: Server;
const refunds: unknown[] = [];
const events = new MemoryEventPublisher();

/** Asks for the refund on a run's first turn, then answers. */
const provider: ModelProvider = {
  provider: 'scripted',
  model: 'dev-model',
  complete: async (request) => toResponse(request.messages.length === 1 ? { toolUses: [{ name: 'refund', input: { orderId: 'ord_12345678' } }] } : { text: 'Done.' }),
};

before(async () => {
  backend = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      refunds.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"refunded":true}');
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/refunds`;
  const definition = defineAgent(
    agentInput({
      name: 'refunds',
      durable: true,
      triggers: [{ type: 'job' }],
      tools: [{ name: 'refund', description: 'Refund an order.', kind: 'http', url, sideEffect: 'write', input: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } }, approval: { approvers: ['developer', 'role:leads'], timeoutSeconds: 60 } }],
    }),
  );
  const runtime = await assembleRuntime({ definition, route: [{ provider: 'bedrock', model: 'dev-model' }] }, { jobs: new MemoryJobStore(), events, metrics: new MemoryMetrics(), secret: async () => 'unused', providers: { bedrock: async () => provider } });
  server = await startDevServer({ agents: [runtime], log: () => {} });
});

after(async () => {
  await server?.close();
  await new Promise((r) => backend?.close(r));
});

const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

/** Resolves when the job's record says `status`. */
async function jobIs(jobId: string, status: string): Promise<Record<string, any>> {
  for (let i = 0; i < 100; i++) {
    const record = (await send('GET', `/agents/refunds/jobs/${jobId}`)).body;
    if (record.status === status) return record;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`job ${jobId} never became ${status}`);
}

describe('approvals on the dev server', () => {
  it('holds a call for a person, lists it, and runs it once approved', async () => {
    await send('POST', '/agents/refunds/jobs', { input: 'Refund ord_12345678.', idempotencyKey: 'refund-1' });
    const waiting = await jobIs('refund-1', 'waiting_for_approval');
    assert.deepEqual([waiting.waiting.tool, waiting.waiting.input], ['refund', { orderId: 'ord_12345678' }]);
    assert.deepEqual((await send('GET', '/dev/approvals')).body.approvals.map((a: Record<string, unknown>) => [a.agent, a.jobId, a.tool]), [['refunds', 'refund-1', 'refund']]);
    assert.ok(events.events.some((e) => e.type === 'approval.requested'));
    assert.equal(refunds.length, 0, 'nothing runs before the decision');

    const refused = await send('POST', '/agents/refunds/jobs/refund-1/approvals', { decision: 'approve' }, { 'x-dev-approver': 'someone-else' });
    assert.equal(refused.status, 403, 'not among the approvers');
    const decided = await send('POST', '/agents/refunds/jobs/refund-1/approvals', { decision: 'approve', reason: 'checked the order' });
    assert.deepEqual([decided.status, decided.body.decision, decided.body.by], [202, 'approved', 'developer']);
    const done = await jobIs('refund-1', 'succeeded');
    assert.equal(done.output, 'Done.');
    assert.deepEqual(refunds, [{ orderId: 'ord_12345678' }]);
    assert.deepEqual((await send('GET', '/dev/approvals')).body.approvals, []);
    assert.equal((await send('POST', '/agents/refunds/jobs/refund-1/approvals', { decision: 'approve' })).status, 409, 'nothing waits any more');
  });

  it('lets an approver holding the role decide, and a rejection reaches the model instead of the tool', async () => {
    await send('POST', '/agents/refunds/jobs', { input: 'Refund it again.', idempotencyKey: 'refund-2' });
    await jobIs('refund-2', 'waiting_for_approval');
    assert.equal((await send('POST', '/agents/refunds/jobs/refund-2/approvals', { decision: 'maybe' })).status, 400);
    const decided = await send('POST', '/agents/refunds/jobs/refund-2/approvals', { decision: 'reject', reason: 'already refunded' }, { 'x-dev-approver': 'lead@example.com', 'x-dev-roles': 'leads' });
    assert.deepEqual([decided.status, decided.body.decision], [202, 'rejected']);
    await jobIs('refund-2', 'succeeded');
    assert.equal(refunds.length, 1, 'the rejected call never ran');
  });
});

describe('the dev engine', () => {
  it('expires a call nobody decides in its time, and says so on the job record', async () => {
    const approvals = new DevApprovals();
    const jobs = new MemoryJobStore();
    const definition = defineAgent(agentInput({ name: 'refunds', durable: true, triggers: [{ type: 'job' }] }));
    const runtime = await assembleRuntime({ definition, route: [{ provider: 'bedrock', model: 'dev-model' }] }, { jobs, events: new MemoryEventPublisher(), metrics: new MemoryMetrics(), secret: async () => 'unused', providers: { bedrock: async () => provider } });
    const engine = approvals.engine(runtime, { runId: 'job-late', jobId: 'job-late', trigger: 'job', input: 'x' });
    const decision = await engine.approval('approval-1-call_1', { callId: 'call_1', tool: 'refund', input: {}, approvers: ['developer'], timeoutSeconds: 0.05 });
    assert.equal(decision.decision, 'expired');
    assert.deepEqual(approvals.pending(), [], 'no longer waiting');
    const record = (await jobs.get('job-late'))!;
    assert.deepEqual([record.status, record.lastApproval?.decision], ['running', 'expired']);
  });
});
