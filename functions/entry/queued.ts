import type { parseRequestBody } from '../../contract/api/request';
import { mergeChildren, type JobRecord, type JobStatus } from '../../contract/jobs/job-record';
import type { RunResult } from '../core/agent/agent';
import { chainLinkOf, type IncomingTask } from '../core/chain/chain';
import { claimJob } from '../core/jobs/jobs';
import type { Runtime } from './assemble';
import { reportingTo } from './child-reports';
import { publishFailure, publishRun, RetryableRunError, summary, verdictOf } from './outcome';

/** Time after which a run still recorded `running` is taken to have died with its function. */
export const staleAfterMs = (runtime: Runtime) => (runtime.config.definition.limits.timeoutSeconds + 30) * 1000;

/** What a run another agent sent is triggered by: a call, a job, a hand-off. */
export type TaskTrigger = 'call' | 'delegation' | 'handoff';

/** The request-body check, passed in because it loads with the first message, not at start. */
type RequestParser = typeof parseRequestBody;

/** A run taken off a queue, an event subscription or a schedule, on either cloud. */
export interface QueuedRun {
  readonly runId: string;
  readonly jobId?: string;
  readonly trigger: 'job' | 'schedule' | 'event' | 'queue' | TaskTrigger;
  readonly input: string | Record<string, unknown>;
  /** The task another agent sent, whose envelope the run inherits. */
  readonly task?: IncomingTask;
  /** Why the message cannot be run at all (a job whose body breaks the request schema). */
  readonly invalid?: string;
}

/** A message body as JSON, or as the text it is. */
export function messageBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A job the API queued; its id names the run. */
export function jobRun(jobId: string, body: unknown, parse: RequestParser): QueuedRun {
  const parsed = parse(body);
  // The API checked the body already; a message sent straight to the queue may not be.
  if (!parsed.ok) return { runId: jobId, jobId, trigger: 'job', input: '', invalid: `the job's body is invalid: ${parsed.problems.join('; ')}` };
  return { runId: jobId, jobId, trigger: 'job', input: parsed.body.input };
}

/** Anything else put on the queue: a request body, whose idempotency key names the run, or raw input. */
export function plainRun(body: unknown, messageId: string, parse: RequestParser): QueuedRun {
  const parsed = parse(body);
  if (parsed.ok) return { runId: parsed.body.idempotencyKey ?? messageId, trigger: 'queue', input: parsed.body.input };
  return { runId: messageId, trigger: 'queue', input: typeof body === 'string' ? body : (body as Record<string, unknown>) };
}

export interface QueuedRunOptions {
  /** When the run must have ended (epoch ms). */
  readonly deadline: number;
  /**
   * Nothing will deliver this run again if it fails now: a message on its last delivery (its queue
   * dead-letters it next, so the job ends `dead_lettered`), or a timer's run (nothing retries it, so
   * it ends `failed`). Omitted: see `maxDeliveries`.
   */
  readonly lastDelivery?: 'dead_lettered' | 'failed';
  /**
   * Deliveries after which the source dead-letters the run, for sources that do not count them
   * for the handler (Event Grid); the job record counts them.
   */
  readonly maxDeliveries?: number;
  /** Where a failed delivery is logged. */
  readonly log?: (line: string) => void;
  /**
   * Aborted when the host stops before the run ends (a container shutting down): a run it cuts
   * short goes back to `queued`, never dead-lettered for it, and RunInterrupted is thrown so the
   * host returns the message to the queue at once.
   */
  readonly stop?: AbortSignal;
}

/** A run the host stopped before it ended: its record says `queued`, and its message goes back. */
export class RunInterrupted extends RetryableRunError {
  constructor(runId: string) {
    super(runId, 'the host stopped before the run ended (a container shutting down); it runs again from its next delivery');
    this.name = 'RunInterrupted';
  }
}

/**
 * Runs a queued run, the same on every cloud, and leaves its job record (keyed by run id) in a
 * true state. A finished run is not run again: a redelivery of a `succeeded` or `failed` job
 * returns its record (a `dead_lettered` job that arrives again was redriven, and runs). The delivery
 * that moves the run's record to `running` with a conditional write owns the run, so a duplicate
 * arriving at the same moment runs nothing; its ending is written only over the record it claimed,
so of two deliveries that both ran, only the one that claimed last records and announces. Then,
by the run's verdict (contract/runs):
 * - succeeded: `succeeded`, run.completed, and the summary returned;
 * - failed (another try would not help): `failed`, run.failed with the reason, and returned, so the
 *   message is done with and never goes back through the queue;
 * - retryable (no model, out of time, or the runtime threw): back to `queued` with the reason, and
 *   RetryableRunError (or the error) thrown so the queue delivers it again; on its last delivery
 *   `dead_lettered` (or `failed` for a timer) and run.failed first.
 */
export async function runQueued(runtime: Runtime, run: QueuedRun, options: QueuedRunOptions): Promise<unknown> {
  const { agent, jobs } = runtime;
  // A hand-off or job also reports its ending to the agent that sent it.
  const events = reportingTo(runtime.events, run.task);
  const { definition } = runtime.config;
  const log = options.log ?? ((line: string) => console.error(line));
  const previous = await jobs?.get(run.runId);
  if (previous?.status === 'succeeded' || previous?.status === 'failed') return previous;
  const deliveries = (previous?.deliveries ?? 0) + 1;
  const record = (value: JobStatus, extra: Partial<JobRecord> = {}): JobRecord => ({
    jobId: run.runId,
    agent: definition.name,
    status: value,
    updatedAt: new Date().toISOString(),
    deliveries,
    ...(previous?.request && { request: previous.request }),
    ...(run.task && { chain: chainLinkOf(run.task) }),
    ...extra,
  });
  const status = (value: JobStatus, extra: Partial<JobRecord> = {}) => jobs?.put(record(value, extra));
  const jobId = run.jobId ? { jobId: run.jobId } : {};
  const announceFailure = (error: unknown, final: JobStatus) => publishFailure(events, definition, run.runId, run.trigger, error, { ...jobId, status: final });

  if (run.invalid) {
    // Nothing to run and nothing a retry would change: failed at once.
    await status('failed', { error: run.invalid });
    await announceFailure(run.invalid, 'failed');
    return { runId: run.runId, status: 'failed', error: run.invalid };
  }

  // The delivery that moves the record to `running` owns the run: a create-only write for a run
  // never recorded, a write over exactly the record read for one that was (a job the API queued,
  // a run handed back). Another delivery that read the same record at the same moment (a firing,
  // event or message delivered twice) loses the race and runs nothing; the owner's own retries go
  // through its message. A delivery that arrives while the owner still runs (a record already
  // `running`, after a lost lock) is not told apart from one after a crash, and runs: on AWS,
  // Powertools idempotency holds it back until the owner's time is up.
  // A timer's firing that finds its run still going (two instances firing one occurrence, a
  // restart's catch-up) leaves it to the firing that runs it: nothing would ever deliver this
  // firing again, so there is no message to lose by stepping aside.
  if (options.lastDelivery === 'failed' && previous?.status === 'running' && Date.now() - Date.parse(previous.updatedAt) < staleAfterMs(runtime)) {
    log(JSON.stringify({ message: 'run already going in another firing; not run again', runId: run.runId, trigger: run.trigger }));
    return previous;
  }
  const claimed = record('running');
  const current = async (message: string) => {
    const now = await jobs!.get(run.runId);
    log(JSON.stringify({ message, runId: run.runId, trigger: run.trigger, status: now?.status }));
    return now ?? { runId: run.runId, status: 'running' };
  };
  if (jobs && !(await claimJob(jobs, previous, claimed))) return current('run already claimed by another delivery; not run again');
  // How this delivery's run ends on the record: written only over the record it claimed. If
  // another delivery claimed the run since (one that took this one for dead), that one owns the
  // ending: this one records and announces nothing, and its message is done with.
  const settle = async (value: JobStatus, extra: Partial<JobRecord>) => !jobs || settleOver(jobs, claimed, record(value, extra));
  const overtaken = () => current('another delivery took the run over; this delivery ends without recording or announcing');
  let result: RunResult | undefined;
  let thrown: unknown;
  try {
    result = await agent.run({ runId: run.runId, input: run.input, trigger: run.trigger, deadline: options.deadline, ...(run.task && { task: run.task }), ...(options.stop && { stop: options.stop }) });
  } catch (e) {
    thrown = e;
  }
  const verdict = result ? verdictOf(definition, result) : { outcome: 'retryable' as const, reason: `the runtime failed: ${(thrown as Error).message}` };
  const answer = result ? jobAnswer(result) : {};

  if (verdict.outcome === 'succeeded') {
    if (!(await settle('succeeded', answer))) return overtaken();
    await publishRun(events, definition, 'run.completed', result!, { trigger: run.trigger, ...jobId });
    return summary(result!);
  }
  if (options.stop?.aborted) {
    // Not the run's fault, nor the message's: handed back whole, whatever delivery this was.
    const interrupted = new RunInterrupted(run.runId);
    if (!(await settle('queued', { error: interrupted.reason }))) return overtaken();
    log(JSON.stringify({ message: 'run interrupted by the host stopping; handed back to the queue', runId: run.runId, trigger: run.trigger, deliveries }));
    throw interrupted;
  }
  const reason = verdict.reason!;
  const publish = (final: JobStatus) =>
    result ? publishRun(events, definition, 'run.failed', result, { trigger: run.trigger, error: reason, status: final, ...jobId }) : announceFailure(thrown, final);
  if (verdict.outcome === 'failed') {
    if (!(await settle('failed', { ...answer, error: reason }))) return overtaken();
    await publish('failed');
    return { ...summary(result!), status: 'failed', error: reason };
  }
  const last = options.lastDelivery ?? (options.maxDeliveries !== undefined && deliveries >= options.maxDeliveries ? 'dead_lettered' : undefined);
  if (last) {
    // Nothing will deliver it again: final now, announced once; a message is dead-lettered next.
    if (!(await settle(last, { ...answer, error: reason }))) return overtaken();
    log(JSON.stringify({ message: 'run failed for the last time', runId: run.runId, trigger: run.trigger, deliveries, status: last, error: reason }));
    await publish(last);
  } else {
    // Worth another delivery: back to queued, with the reason for whoever looks. No event: one
    // per delivery would read as final.
    if (!(await settle('queued', { ...answer, error: reason }))) return overtaken();
    log(JSON.stringify({ message: 'run failed; it will be delivered again', runId: run.runId, trigger: run.trigger, deliveries, error: reason }));
  }
  throw thrown ?? new RetryableRunError(run.runId, reason);
}

/**
 * Writes a run's ending over the record its delivery claimed. The record may have changed since
 * without the run changing hands: children it sent reported their ends (`recordChildReport`), which
 * leave the record's time as it was. Then the ending is written over that, keeping what the
 * children reported. Any other change means another delivery took the run over: false.
 */
async function settleOver(jobs: NonNullable<Runtime['jobs']>, claimed: JobRecord, next: JobRecord): Promise<boolean> {
  let expected = claimed;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await jobs.replace(expected, next)) return true;
    const now = await jobs.get(claimed.jobId);
    if (!now || now.status !== claimed.status || now.updatedAt !== claimed.updatedAt || now.deliveries !== claimed.deliveries) return false;
    expected = now;
    next = { ...next, children: mergeChildren(next.children ?? [], now.children ?? []) };
  }
  return false;
}

/** What a job record keeps of a run's result: the answer, its spending, and the tasks it sent. */
export function jobAnswer(result: RunResult): Partial<JobRecord> {
  return {
    stopReason: result.stopReason,
    output: result.output,
    ...(result.structuredOutput !== undefined && { structuredOutput: result.structuredOutput }),
    ...(result.validation && { validation: result.validation }),
    usage: result.usage,
    costUsd: result.costUsd,
    ...(result.delegatedCostUsd && { delegatedCostUsd: result.delegatedCostUsd }),
    ...(result.children?.length && { children: result.children }),
  };
}
