import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { agentStep, orchestrateRun, type DurableRunInput, type OrchestrationCalls, type StepInput } from '../../functions/azure/durable';
import { MemoryAuditSink, type RunRecord } from '../../functions/core/audit/records';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime, type Runtime } from '../../functions/entry/assemble';
import { MemoryTaskInbox } from '../../functions/core/chain/inbox';
import { durableStoreOf } from '../../functions/entry/checkpoints';
import { durableDefinition, LARGE_RECEIPT, LARGE_REFUNDS, largeRefunds, startRefundService, type RefundService } from '../__fixtures__/durable-agent';
import { ScriptedProvider, type ScriptStep } from '../__fixtures__/scripted-provider';

/**
 * The Azure orchestrator driven as Durable Functions drives it, against a fake context: each
 * yielded activity call runs the real `agent-step` activity once and its result is recorded in the
 * history; a replay (after a "crash", or a wait) runs the generator again from the start and hands
 * back recorded results without running anything. Timers fire when the test says the clock passed
 * them; external events are raised by the test.
 */
interface Pending {
  readonly kind: 'activity' | 'event' | 'timer' | 'any';
  readonly input?: StepInput;
  readonly name?: string;
  readonly fireAt?: Date;
  readonly tasks?: Pending[];
  isCompleted: boolean;
  result?: unknown;
  cancel(): void;
}

const isFailure = (value: unknown): value is { failed: string } => typeof value === 'object' && value !== null && typeof (value as { failed?: unknown }).failed === 'string' && Object.keys(value).length === 1;

class FakeOrchestration {
  /** Every completed activity's result, in order: the history a replay reads. */
  readonly history: unknown[] = [];
  readonly raised = new Map<string, unknown>();
  activitiesRun = 0;
  /** When set, the clock is past every timer: expiry wins a race. */
  timersFired = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly input: DurableRunInput,
    // The engine's clock, on the whole minute of the real one: the activities read the real clock.
    readonly start = new Date(Math.floor(Date.now() / 60_000) * 60_000),
  ) {}

  /**
   * Replays the orchestration from the start: recorded activities return their recorded results;
   * the first new one runs (unless `stopBefore` says the process dies first). Returns the output
   * when the orchestration completes, or undefined when it waits (or died).
   */
  async replay(options: { crashAfterActivities?: number } = {}): Promise<{ done: boolean; output?: unknown; error?: string }> {
    let index = 0;
    let ranThisTime = 0;
    const make = (kind: Pending['kind'], extra: Partial<Pending> = {}): Pending => ({ kind, isCompleted: false, cancel() {}, ...extra });
    const df: OrchestrationCalls = {
      currentUtcDateTime: this.start,
      callActivity: (_name, input) => make('activity', { input: input as StepInput }),
      waitForExternalEvent: (name) => make('event', { name }),
      createTimer: (fireAt) => make('timer', { fireAt }),
      Task: { any: (tasks) => make('any', { tasks: tasks as Pending[] }) },
      newGuid: (input) => `guid-${input.length}-abcdef`,
    };
    const generator = orchestrateRun(df, this.input);
    let next = generator.next();
    while (!next.done) {
      const task = next.value as Pending;
      if (task.kind === 'activity') {
        if (index < this.history.length) {
          const recorded = this.history[index++];
          // A failed activity is recorded as its failure, thrown into the orchestrator on replay.
          next = isFailure(recorded) ? generator.throw(new Error(recorded.failed)) : generator.next(recorded);
          continue;
        }
        if (options.crashAfterActivities !== undefined && ranThisTime >= options.crashAfterActivities) return { done: false };
        let result: unknown;
        try {
          result = await agentStep(this.runtime, task.input!);
        } catch (e) {
          result = { failed: (e as Error).message };
        }
        this.activitiesRun++;
        ranThisTime++;
        this.history.push(result);
        index++;
        try {
          next = isFailure(result) ? generator.throw(new Error(result.failed)) : generator.next(result);
        } catch (e) {
          return { done: true, error: (e as Error).message };
        }
        continue;
      }
      if (task.kind === 'any') {
        const [event, timer] = task.tasks!;
        if (this.raised.has(event!.name!)) {
          event!.result = this.raised.get(event!.name!);
          event!.isCompleted = true;
          next = generator.next(event);
        } else if (this.timersFired) {
          timer!.isCompleted = true;
          next = generator.next(timer);
        } else return { done: false };
        continue;
      }
      throw new Error(`the orchestrator yielded a bare ${task.kind}`);
    }
    return { done: true, output: next.value };
  }
}

let refunds: RefundService;
before(async () => {
  refunds = await startRefundService();
});
after(() => refunds.close());

let models = 0;
async function durableRuntime(script: ScriptStep[], timeoutSeconds = 3600) {
  const model = `azure-durable-${++models}`;
  const definition = durableDefinition(refunds.url, timeoutSeconds);
  const provider = new ScriptedProvider(model, script);
  const jobs = new MemoryJobStore();
  const events = new MemoryEventPublisher();
  const audit = new MemoryAuditSink();
  const kept = new MemoryTaskInbox();
  const rt = await assembleRuntime(
    { definition, route: [{ provider: 'bedrock', model }] },
    { jobs, events, audit, metrics: new MemoryMetrics(), secret: async () => '', providers: { bedrock: async () => provider }, durable: durableStoreOf(kept, definition.name) },
  );
  return { rt, provider, jobs, events, audit, kept };
}

const refund = { toolUses: [{ name: 'issue_refund', input: { orderId: 'ord_12345678' } }] };
const input = (jobId: string): DurableRunInput => ({ run: { runId: jobId, jobId, trigger: 'job', input: 'Refund ord_12345678.' } });
const runRecords = (audit: MemoryAuditSink) => audit.records.filter((r): r is RunRecord => r.type === 'run');

describe('a durable run on Azure Durable Functions (the orchestrator against a fake context)', () => {
  it('waits for approval, resumes on the raised event, runs the write once, and never calls the model again for a recorded turn', async () => {
    const { rt, provider, jobs, events, audit } = await durableRuntime([refund, { text: 'Refunded.' }]);
    const orchestration = new FakeOrchestration(rt, input('job-az-1'));
    const before = refunds.requests.length;
    assert.deepEqual(await orchestration.replay(), { done: false });
    const waiting = (await jobs.get('job-az-1'))!;
    assert.deepEqual([waiting.status, waiting.waiting?.tool, waiting.waiting?.expiresAt], ['waiting_for_approval', 'issue_refund', new Date(orchestration.start.getTime() + 3_600_000).toISOString()]);
    assert.deepEqual([waiting.currentStep?.number, waiting.currentStep?.kind], [1, 'model'], 'the status shows the step it is on');
    assert.ok(events.events.some((e) => e.type === 'approval.requested'));
    assert.equal(refunds.requests.length, before);

    orchestration.raised.set('approval-1-call_1_0', { decision: 'approved', by: 'finance-lead@contoso.com', at: '2026-12-01T09:30:00Z' });
    // The process that resumes it dies after running one more step: the next replay picks up there.
    assert.deepEqual(await orchestration.replay({ crashAfterActivities: 2 }), { done: false });
    const done = await orchestration.replay();
    assert.equal(done.done, true);
    assert.equal((done.output as { output: string }).output, 'Refunded.');
    assert.equal(provider.requests.length, 2, 'one model call per turn across three replays');
    assert.equal(refunds.requests.length - before, 1, 'the approved write ran once');
    const record = (await jobs.get('job-az-1'))!;
    assert.deepEqual([record.status, record.lastApproval?.by], ['succeeded', 'finance-lead@contoso.com']);
    assert.equal(runRecords(audit).length, 1);
  });

  it('tells the model about a rejection, and about an approval that never came', async () => {
    const rejected = await durableRuntime([refund, { text: 'Not approved.' }]);
    const first = new FakeOrchestration(rejected.rt, input('job-az-2'));
    await first.replay();
    first.raised.set('approval-1-call_1_0', { decision: 'rejected', by: 'lead', reason: 'duplicate request', at: '2026-12-01T09:05:00Z' });
    assert.equal((await first.replay()).done, true);
    assert.equal((rejected.provider.requests[1]!.messages[2]!.content[0] as { content: string }).content, 'Not run: lead rejected the call to "issue_refund": duplicate request');

    const expired = await durableRuntime([refund, { text: 'No approval in time.' }], 600);
    const second = new FakeOrchestration(expired.rt, input('job-az-3'));
    await second.replay();
    second.timersFired = true;
    assert.equal((await second.replay()).done, true);
    assert.equal((expired.provider.requests[1]!.messages[2]!.content[0] as { content: string }).content, 'Not run: no one approved "issue_refund" within 600 s, so the call was rejected.');
    assert.deepEqual([(await expired.jobs.get('job-az-3'))!.lastApproval?.decision, (await expired.jobs.get('job-az-3'))!.lastApproval?.at], ['expired', new Date(second.start.getTime() + 600_000).toISOString()]);
  });

  it('runs longer than one invocation allows: a day waiting for approval costs no running function', async () => {
    const { rt, provider, jobs } = await durableRuntime([refund, { text: 'Refunded after a day.' }], 2 * 86_400);
    const orchestration = new FakeOrchestration(rt, input('job-az-4'));
    await orchestration.replay();
    const activities = orchestration.activitiesRun;
    // A day passes: nothing runs while the run waits.
    orchestration.raised.set('approval-1-call_1_0', { decision: 'approved', by: 'lead', at: '2026-12-02T09:00:00Z' });
    assert.equal((await orchestration.replay()).done, true);
    assert.ok(orchestration.activitiesRun > activities);
    assert.equal(provider.requests.length, 2);
    assert.equal((await jobs.get('job-az-4'))!.status, 'succeeded');
  });

  it('carries the conversation by reference once it outgrows a checkpoint, so the history does not repeat it', async () => {
    const { rt, provider, kept } = await durableRuntime([largeRefunds, { text: 'Refunded six times.' }]);
    const orchestration = new FakeOrchestration(rt, { run: { runId: 'job-az-large', jobId: 'job-az-large', trigger: 'job', input: 'Refund ord_large six times.' } });
    for (let i = 0; i < LARGE_REFUNDS; i++) orchestration.raised.set(`approval-1-call_1_${i}`, { decision: 'approved', by: 'lead', at: '2026-12-01T09:30:00Z' });
    let done = await orchestration.replay();
    for (let i = 0; !done.done && i < LARGE_REFUNDS; i++) done = await orchestration.replay();
    assert.equal(done.done, true);
    assert.equal((done.output as { output: string }).output, 'Refunded six times.');
    const states = orchestration.history.flatMap((r) => (r && typeof r === 'object' && 'state' in r ? [(r as { state: unknown }).state] : []));
    assert.ok(states.some((s) => (s as { checkpointRef?: string }).checkpointRef === 'job-az-large/state-tools-1'), 'the state after the large results is a reference');
    assert.ok(Math.max(...orchestration.history.map((r) => JSON.stringify(r ?? null).length)) < 10 * 1024, 'no recorded result holds the receipts');
    assert.ok([...kept.items.values()].some((text) => text.includes(LARGE_RECEIPT.slice(0, 40_000))));
    const results = provider.requests[1]!.messages[2]!.content as unknown as readonly { content: string }[];
    assert.equal(results.filter((r) => r.content.includes(LARGE_RECEIPT.slice(0, 40_000))).length, LARGE_REFUNDS);
  });

  it('records a run failed, and announces it, when an activity fails, instead of leaving it running', async () => {
    const { rt, jobs, events } = await durableRuntime([refund, { text: 'Refunded.' }]);
    // The job store refuses every write once the run is under way, as a store that is down would.
    let writes = 0;
    const put = jobs.put.bind(jobs);
    jobs.put = async (record) => {
      if (++writes === 2) throw new Error('the store is unreachable');
      return put(record);
    };
    const orchestration = new FakeOrchestration(rt, input('job-az-fail'));
    const done = await orchestration.replay();
    assert.deepEqual([done.done, done.error], [true, 'the store is unreachable']);
    const record = (await jobs.get('job-az-fail'))!;
    assert.equal(record.status, 'failed');
    assert.match(record.error!, /the runtime failed: the store is unreachable/);
    assert.ok(events.events.some((e) => e.type === 'run.failed' && e.detail.runId === 'job-az-fail'));
  });
});
