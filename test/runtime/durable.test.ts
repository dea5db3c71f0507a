import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { withDurableExecution, type DurableContext } from '@aws/durable-execution-sdk-js';
import { LocalDurableTestRunner, WaitingOperationStatus } from '@aws/durable-execution-sdk-js-testing';
import { defineAgent } from '../../contract/definition';
import { durableSteps } from '../../functions/aws/durable';
import { runTask } from '../../functions/entry/tasks';
import { agentInput } from '../helpers';
import type { RunRecord } from '../../functions/core/audit/records';
import { MemoryAuditSink } from '../../functions/core/audit/records';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime } from '../../functions/entry/assemble';
import { approvalDecided, approvalRequested, runDurable } from '../../functions/entry/durable';
import { MemoryTaskInbox } from '../../functions/core/chain/inbox';
import { durableStoreOf } from '../../functions/entry/checkpoints';
import { durableDefinition, LARGE_RECEIPT, LARGE_REFUNDS, largeRefunds, startRefundService, type RefundService } from '../__fixtures__/durable-agent';
import { ScriptedProvider, type ScriptStep } from '../__fixtures__/scripted-provider';

/**
 * A durable agent on Lambda's durable execution engine, run by its local test runner (waits
 * skipped): the runtime's steps are durable steps, its approvals durable callbacks. The model is
 * scripted in-process, so every call it gets, across every replay, is counted; the refund service
 * counts the effects it applied per Idempotency-Key.
 */
let refunds: RefundService;
before(async () => {
  refunds = await startRefundService();
});
after(() => refunds.close());
// On the real clock: skipping time fakes the timers, and the clock's jumps fire the HTTP client's
// own timeouts under a tool call in flight. No test here waits long but the 10 s expiry.
beforeEach(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: false }));
afterEach(() => LocalDurableTestRunner.teardownTestEnvironment());

let models = 0;
/** A durable agent whose refund tool needs a finance lead's approval, on a scripted model, in memory. */
async function durableAgent(script: ScriptStep[], options: { timeoutSeconds?: number; failOnce?: string } = {}) {
  const model = `durable-model-${++models}`;
  const definition = durableDefinition(refunds.url, options.timeoutSeconds);
  const provider = new ScriptedProvider(model, script);
  const jobs = new MemoryJobStore();
  const events = new MemoryEventPublisher();
  const audit = new MemoryAuditSink();
  const metrics = new MemoryMetrics();
  let failures = options.failOnce ? 1 : 0;
  // A metrics sink that fails once when `failOnce` is counted: the step performing it fails after
  // its work is done, as a function dying between the work and its checkpoint would.
  const flaky = { add: (name: Parameters<MemoryMetrics['add']>[0], unit: Parameters<MemoryMetrics['add']>[1], value: number) => {
    if (name === options.failOnce && failures-- > 0) throw new Error('the function died here');
    metrics.add(name, unit, value);
  }, flush: () => metrics.flush() };
  const kept = new MemoryTaskInbox();
  const durable = durableStoreOf(kept, definition.name);
  const rt = await assembleRuntime({ definition, route: [{ provider: 'bedrock', model }] }, { jobs, events, audit, metrics: flaky, secret: async () => '', providers: { bedrock: async () => provider }, durable });
  const callbacks: string[] = [];
  const handler = withDurableExecution(async (event: { jobId: string; input: string }, ctx: DurableContext) => {
    const run = { runId: event.jobId, jobId: event.jobId, trigger: 'job' as const, input: event.input };
    const requested = approvalRequested(rt, run);
    return runDurable(rt, run, durableSteps(ctx, { requested: async (r) => (callbacks.push(r.callbackId), requested(r)), decided: approvalDecided(rt, run) }));
  });
  return { handler, provider, jobs, events, audit, metrics, callbacks, kept };
}

const refund = { toolUses: [{ name: 'issue_refund', input: { orderId: 'ord_12345678', amount: 49 } }] };
const runs = (audit: MemoryAuditSink) => audit.records.filter((r): r is RunRecord => r.type === 'run');

describe('a durable run on Lambda durable functions (local runner)', () => {
  it('waits for approval without a running function, then runs the approved write once and finishes without calling the model again for recorded turns', async () => {
    const agent = await durableAgent([refund, { text: 'Refunded 49 EUR.' }]);
    const runner = new LocalDurableTestRunner({ handlerFunction: agent.handler });
    const running = runner.run({ payload: { jobId: 'job-approve', input: 'Refund ord_12345678.' } });
    const approval = runner.getOperation('approval-1-call_1_0');
    await approval.waitForData(WaitingOperationStatus.SUBMITTED);
    const waiting = (await agent.jobs.get('job-approve'))!;
    assert.equal(waiting.status, 'waiting_for_approval');
    assert.deepEqual([waiting.currentStep?.number, waiting.currentStep?.kind], [1, 'model'], 'the status shows the step it is on');
    assert.deepEqual([waiting.waiting?.tool, waiting.waiting?.approvers, waiting.waiting?.input], ['issue_refund', ['role:finance-lead'], { orderId: 'ord_12345678', amount: 49 }]);
    const requested = agent.events.events.find((e) => e.type === 'approval.requested')!;
    assert.equal(requested.detail.approval?.tool, 'issue_refund');
    assert.equal(refunds.requests.filter((r) => r.key && JSON.stringify(r.body).includes('ord_12345678')).length, 0, 'nothing runs before the approval');

    await approval.sendCallbackSuccess(JSON.stringify({ decision: 'approved', by: 'arn:aws:iam::123456789012:role/finance-lead', at: new Date().toISOString() }));
    const execution = await running;
    assert.equal(execution.getStatus(), 'SUCCEEDED');
    assert.equal((execution.getResult() as { output: string }).output, 'Refunded 49 EUR.');
    assert.equal(agent.provider.requests.length, 2, 'one call per model turn, across every replay');
    const record = (await agent.jobs.get('job-approve'))!;
    assert.deepEqual([record.status, record.lastApproval?.decision, record.lastApproval?.by], ['succeeded', 'approved', 'arn:aws:iam::123456789012:role/finance-lead']);
    assert.equal(runs(agent.audit).length, 1, 'one run record, written once');
    assert.equal(runs(agent.audit)[0]!.stopReason, 'end_turn');
  });

  it('tells the model a rejected call was not run, with who rejected it and why', async () => {
    const before = refunds.requests.length;
    const agent = await durableAgent([refund, { text: 'The refund was not approved.' }]);
    const runner = new LocalDurableTestRunner({ handlerFunction: agent.handler });
    const running = runner.run({ payload: { jobId: 'job-reject', input: 'Refund ord_12345678.' } });
    const approval = runner.getOperation('approval-1-call_1_0');
    await approval.waitForData(WaitingOperationStatus.SUBMITTED);
    await approval.sendCallbackSuccess(JSON.stringify({ decision: 'rejected', by: 'finance-lead-7', reason: 'over the monthly limit', at: new Date().toISOString() }));
    assert.equal((await running).getStatus(), 'SUCCEEDED');
    assert.equal(refunds.requests.length, before, 'the refund service was never called');
    const toolResult = agent.provider.requests[1]!.messages[2]!.content[0] as { content: string; isError?: boolean };
    assert.deepEqual([toolResult.content, toolResult.isError], ['Not run: finance-lead-7 rejected the call to "issue_refund": over the monthly limit', true]);
    assert.equal(agent.metrics.sum('ToolRejections'), 1);
  });

  it('rejects a call no one approved before its timeout, and the model is told', async () => {
    const agent = await durableAgent([refund, { text: 'No approval came in time.' }], { timeoutSeconds: 10 });
    const runner = new LocalDurableTestRunner({ handlerFunction: agent.handler });
    const execution = await runner.run({ payload: { jobId: 'job-expire', input: 'Refund ord_12345678.' } });
    assert.equal(execution.getStatus(), 'SUCCEEDED');
    const toolResult = agent.provider.requests[1]!.messages[2]!.content[0] as { content: string };
    assert.equal(toolResult.content, 'Not run: no one approved "issue_refund" within 10 s, so the call was rejected.');
    assert.equal((await agent.jobs.get('job-expire'))!.lastApproval?.decision, 'expired');
  });

  it('resumes a step that died after its work without calling the model again, and the write lands once', async () => {
    const agent = await durableAgent([refund, { text: 'Refunded.' }], { failOnce: 'ToolCalls' });
    const earlier = refunds.requests.length;
    const runner = new LocalDurableTestRunner({ handlerFunction: agent.handler });
    const running = runner.run({ payload: { jobId: 'job-crash', input: 'Refund ord_99999999.' } });
    const approval = runner.getOperation('approval-1-call_1_0');
    await approval.waitForData(WaitingOperationStatus.SUBMITTED);
    await approval.sendCallbackSuccess(JSON.stringify({ decision: 'approved', by: 'lead', at: new Date().toISOString() }));
    const execution = await running;
    assert.equal(execution.getStatus(), 'SUCCEEDED');
    // The step that died was run again, and its write sent again under the same effect key.
    const sent = refunds.requests.slice(earlier);
    assert.equal(sent.length, 2);
    assert.equal(new Set(sent.map((r) => r.key)).size, 1, 'one effect: the service applies it once');
    assert.equal(agent.provider.requests.length, 2, 'the model was not called again for the recorded turn');
    assert.equal((await agent.jobs.get('job-crash'))!.status, 'succeeded');
  });

  it('keeps a step result larger than a checkpoint in the state store, the checkpoint holding only its key', async () => {
    const agent = await durableAgent([largeRefunds, { text: 'Refunded six times, receipts attached.' }]);
    const runner = new LocalDurableTestRunner({ handlerFunction: agent.handler });
    const running = runner.run({ payload: { jobId: 'job-large', input: 'Refund ord_large six times.' } });
    for (let i = 0; i < LARGE_REFUNDS; i++) {
      const approval = runner.getOperation(`approval-1-call_1_${i}`);
      await approval.waitForData(WaitingOperationStatus.SUBMITTED);
      await approval.sendCallbackSuccess(JSON.stringify({ decision: 'approved', by: 'lead', at: new Date().toISOString() }));
    }
    const execution = await running;
    assert.equal(execution.getStatus(), 'SUCCEEDED');
    const checkpoint = runner.getOperation('tools-1').getStepDetails()?.result as { checkpointRef: string; bytes: number };
    assert.equal(checkpoint.checkpointRef, 'job-large/tools-1');
    assert.ok(checkpoint.bytes > 256 * 1024, `the step's result took ${checkpoint.bytes} bytes`);
    assert.ok(JSON.stringify(checkpoint).length < 100, 'the checkpoint holds the key, not the result');
    assert.ok(agent.kept.items.get('helper/job-large/tools-1')!.length > 256 * 1024);
    const results = agent.provider.requests[1]!.messages[2]!.content as unknown as readonly { content: string }[];
    assert.equal(results.filter((r) => r.content.includes(LARGE_RECEIPT.slice(0, 40_000))).length, LARGE_REFUNDS, 'the model saw every receipt, after the replays that followed each approval');
  });

  it('awaits an agent it calls as a tool in the engine (a chained invoke), not in a running function, and never calls it again on replay', async () => {
    // The specialist: an agent of its own, answering the task the engine hands it.
    const specialistModel = new ScriptedProvider(`billing-${++models}`, [{ text: 'ord_1 was charged twice; refund one.' }]);
    const specialist = await assembleRuntime(
      { definition: defineAgent(agentInput({ name: 'billing', description: 'Billing.' })), route: [{ provider: 'bedrock', model: specialistModel.model }], callers: ['triage'] },
      { jobs: new MemoryJobStore(), metrics: new MemoryMetrics(), secret: async () => '', providers: { bedrock: async () => specialistModel } },
    );
    const invoked: unknown[] = [];
    // The caller: durable, calling billing as a tool; its own delegates would fail the test if used.
    const callerModel = new ScriptedProvider(`triage-${++models}`, [{ toolUses: [{ name: 'ask_billing', input: { task: 'Was ord_1 charged twice?' } }] }, { text: 'Billing says: refund one charge.' }]);
    const definition = defineAgent(agentInput({ name: 'triage', durable: true, limits: { timeoutSeconds: 3600 }, tools: [{ name: 'ask_billing', kind: 'agent', agent: 'billing', description: 'Ask billing.' }] }));
    const jobs = new MemoryJobStore();
    const caller = await assembleRuntime(
      { definition, route: [{ provider: 'bedrock', model: callerModel.model }] },
      {
        jobs,
        metrics: new MemoryMetrics(),
        secret: async () => '',
        providers: { bedrock: async () => callerModel },
        delegates: { call: async () => assert.fail('the call went through a running function'), send: async () => assert.fail('no jobs here'), status: async () => undefined },
      },
    );
    const handler = withDurableExecution(async (event: { jobId: string }, ctx: DurableContext) => {
      const run = { runId: event.jobId, jobId: event.jobId, trigger: 'job' as const, input: 'Was I charged twice for ord_1?' };
      return runDurable(caller, run, durableSteps(ctx, { requested: approvalRequested(caller, run), decided: approvalDecided(caller, run) }, { billing: { function: 'billing-fn:live' } }));
    });
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });
    runner.registerFunction('billing-fn:live', async (event: { agentTask: unknown }) => (invoked.push(event), runTask(specialist, event.agentTask, { deadline: Date.now() + 60_000 })));
    const execution = await runner.run({ payload: { jobId: 'job-calls-billing' } });
    assert.equal(execution.getStatus(), 'SUCCEEDED');
    assert.equal((execution.getResult() as { output: string }).output, 'Billing says: refund one charge.');
    assert.equal(invoked.length, 1, 'the specialist ran once');
    const call = runner.getOperation('agent-1-call_1_0');
    assert.equal(call.getOperationData()?.Type, 'CHAINED_INVOKE', 'the engine made the call');
    assert.equal(callerModel.requests.length, 2, 'the caller asked its model once per turn, across the replay after the call');
    const toolResult = callerModel.requests[1]!.messages[2]!.content[0] as { content: string };
    assert.match(toolResult.content, /ord_1 was charged twice; refund one\./);
    const record = (await jobs.get('job-calls-billing'))!;
    assert.deepEqual(record.status, 'succeeded');
  });
});
