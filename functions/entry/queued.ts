import type { parseRequestBody } from '../../contract/api/request';
import type { JobRecord, JobStatus } from '../../contract/jobs/job-record';
import type { RunResult } from '../core/agent/agent';
import type { Runtime } from './assemble';
import { OutputValidationError, publishFailure, publishRun, summary } from './outcome';

/** The request-body check, passed in because it loads with the first message, not at start. */
type RequestParser = typeof parseRequestBody;

/** A run taken off a queue, an event subscription or a schedule, on either cloud. */
export interface QueuedRun {
  readonly runId: string;
  readonly jobId?: string;
  readonly trigger: 'job' | 'schedule' | 'event' | 'queue';
  readonly input: string | Record<string, unknown>;
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
  if (!parsed.ok) throw new Error(`job ${jobId} has an invalid body: ${parsed.problems.join('; ')}`);
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
  /** Nothing will deliver this run again: a timer's run, or a message on its last delivery. */
  readonly final?: boolean;
  /** Where a failed delivery is logged. */
  readonly log?: (line: string) => void;
}

/**
 * Runs a queued run once, the same on every cloud. Its job record (keyed by run id) makes
 * redelivery safe: a run that succeeded is not run again, and one whose answer failed validation
 * fails again at once, without a model call. It throws whenever the run must not be taken as
 * done, so the queue delivers it again or dead-letters it: a run that threw (back to `queued`
 * with the reason, or `failed` and announced when `final`), and an answer that broke the output
 * contract (`failed`, announced, thrown as OutputValidationError for the caller to dead-letter).
 */
export async function runQueued(runtime: Runtime, run: QueuedRun, options: QueuedRunOptions): Promise<unknown> {
  const { agent, events, jobs } = runtime;
  const { definition } = runtime.config;
  const log = options.log ?? ((line: string) => console.error(line));
  const previous = await jobs?.get(run.runId);
  if (previous?.status === 'succeeded') return previous;
  if (previous?.status === 'failed') throw new Error(`run ${run.runId} already failed and will not be retried: ${previous.error}`);
  const status = (value: JobStatus, extra: Partial<JobRecord> = {}) => jobs?.put({ jobId: run.runId, agent: definition.name, status: value, updatedAt: new Date().toISOString(), ...extra });
  const jobId = run.jobId ? { jobId: run.jobId } : {};
  await status('running');
  let result: RunResult;
  try {
    result = await agent.run({ runId: run.runId, input: run.input, trigger: run.trigger, deadline: options.deadline });
  } catch (e) {
    const error = (e as Error).message;
    if (options.final) {
      // Nothing will run it again: failed, announced once, and (for a message) dead-lettered next.
      log(JSON.stringify({ message: 'run failed for the last time', runId: run.runId, trigger: run.trigger, error }));
      await status('failed', { error });
      await publishFailure(events, definition, run.runId, run.trigger, e, jobId);
    } else {
      // Worth another delivery: back to queued, with the reason for whoever looks. No event: one
      // per delivery would read as final.
      log(JSON.stringify({ message: 'run failed; it will be delivered again', runId: run.runId, trigger: run.trigger, error }));
      await status('queued', { error });
    }
    throw e;
  }
  if (result.validation && !result.validation.ok) {
    const error = new OutputValidationError(result);
    await status('failed', { stopReason: result.stopReason, output: result.output, error: error.message, validation: result.validation });
    await publishRun(events, definition, 'run.failed', result, { trigger: run.trigger, error: error.message, ...jobId });
    throw error;
  }
  await status('succeeded', { stopReason: result.stopReason, output: result.output, ...(result.structuredOutput !== undefined && { structuredOutput: result.structuredOutput }) });
  await publishRun(events, definition, 'run.completed', result, { trigger: run.trigger, ...jobId });
  return summary(result);
}
