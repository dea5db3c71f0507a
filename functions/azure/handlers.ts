import { randomUUID } from 'node:crypto';
import type { EventGridEvent, FunctionOutput, HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import { ID_PATTERN, ID_RULE } from '../../contract/api/ids';
import { scheduledRunId, type JobMessage } from '../../contract/api/messages';
import type { RequestBody } from '../../contract/api/request';
import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { AZURE_AFTER_RUN_SECONDS } from '../../contract/config/settings';
import { acceptJob, answerOnce } from '../entry/idempotency';
import { deadlineFrom, RetryableRunError } from '../entry/outcome';
import { syncTimeoutSeconds } from '../../contract/definition/sync-timeout';
import { jobRun, messageBody, plainRun, RunInterrupted, runQueued, type QueuedRun, type QueuedRunOptions } from '../entry/queued';
import { runTask } from '../entry/tasks';
import { isReportTo, recordChildReport } from '../entry/child-reports';
import type { AzureRuntime } from './runtime';

/**
 * The Azure Functions entry points of an agent, on the `@azure/functions` v4 programming model.
 * They do what the Lambda handler does on AWS, around the same core: run now over HTTP, queue a
 * job through Service Bus, run a task another agent of its team calls it with, and run queued
 * messages (jobs, and the tasks Event Grid delivers from the team's topic), Event Grid events and
 * schedules. A queued run that throws is abandoned (a Service Bus message after a pause, see
 * redeliveryPauseMs), so Service Bus (or Event Grid) delivers it again and, when deliveries run
 * out, dead-letters it: nothing is dropped. A run nothing will deliver again (a timer's, or a
 * message on its last delivery) is marked failed and announced with run.failed.
 */

export interface AgentHandlers {
  invoke(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit>;
  submitJob(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit>;
  jobStatus(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit>;
  /** A task another agent of the team calls this one with: its answer, as the caller's tool result. */
  task(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit>;
  queueMessage(message: unknown, context: InvocationContext): Promise<unknown>;
  event(event: EventGridEvent, context: InvocationContext): Promise<unknown>;
  schedule(index: number): (timer: Timer, context: InvocationContext) => Promise<unknown>;
}

/** The Azure load balancer's idle timeout for HTTP requests to Functions, which no setting raises. */
const AZURE_HTTP_TIMEOUT_SECONDS = 230;

/** The request schema loads with the first request that needs checking, so zod is not parsed at start. */
const requestParser = () => import('../../contract/api/request.js').then((m) => m.parseRequestBody);
type Parser = Awaited<ReturnType<typeof requestParser>>;

export interface AgentHandlerOptions {
  /** The queue's max delivery count: the delivery after which Service Bus dead-letters a message. */
  readonly maxDeliveries?: number;
  /** Event Grid's delivery attempts: after the last, it dead-letters the event. */
  readonly maxEventDeliveries?: number;
  /** How the queue handler waits before giving a message back (tests pass a recorder). @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Aborted when a container host stops: its queued runs end and are handed back (RunInterrupted). */
  readonly stop?: AbortSignal;
}

/**
 * How long a queue run that failed for a reason worth a retry holds its message before giving it
 * back: 10 s, doubling with each delivery, at most 60 s, and never past the host's timeout (less 5 s
 * to give the message back). Service Bus delivers an abandoned message again at once, so without a
 * pause every delivery of a job meets the same throttled or overloaded model (or its open circuit)
 * within a second and the job is dead-lettered; on AWS the visibility timeout spaces them out.
 */
export function redeliveryPauseMs(deliveryCount: number, hostTimeLeftMs: number): number {
  return Math.max(0, Math.min(10_000 * 2 ** (deliveryCount - 1), 60_000, hostTimeLeftMs - 5_000));
}

/**
 * The handlers of one agent. `jobs` is the Service Bus output binding the job route writes to;
 * `getRuntime` builds the agent on first use and keeps it for the instance's life.
 */
export function agentHandlers(config: AgentRuntimeConfig, getRuntime: () => Promise<AzureRuntime>, jobs: FunctionOutput, options: AgentHandlerOptions = {}): AgentHandlers {
  const { definition } = config;
  // Azure gives no remaining time; the host stops a function at its timeout, set from the agent's.
  const deadline = () => deadlineFrom(definition.limits.timeoutSeconds * 1000);

  const stop = options.stop ? { stop: options.stop } : {};

  const notThisAgent = (request: HttpRequest, context: InvocationContext) => otherAgent(definition.name, request, context);

  /** The request body, or the response that refuses it. */
  async function readBody(request: HttpRequest, context: InvocationContext): Promise<RequestBody | HttpResponseInit> {
    const raw = await jsonBody(definition.name, request, context);
    if ('response' in raw) return raw.response;
    const body = (await requestParser())(raw.value);
    return body.ok ? body.body : json(400, { message: 'invalid request body', problems: body.problems, requestId: context.invocationId });
  }

  async function invoke(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    const body = await readBody(request, context);
    if (isResponse(body)) return body;
    // A synchronous run stops in time to answer within its api trigger's timeout.
    const answer = await answerOnce(await getRuntime(), body, { requestId: context.invocationId, deadline: deadlineFrom(syncTimeoutSeconds(definition) * 1000) });
    return json(answer.status, answer.body);
  }

  async function submitJob(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    const body = await readBody(request, context);
    if (isResponse(body)) return body;
    const answer = await acceptJob(await getRuntime(), body, { newJobId: randomUUID(), statusUrl: (jobId) => `/api/agents/${definition.name}/jobs/${jobId}` }, async ({ jobId }) => {
      // The output binding sends the message when the function returns.
      context.extraOutputs.set(jobs, { jobId, agent: definition.name, input: body.input } satisfies JobMessage);
    });
    return json(answer.status, answer.body);
  }

  async function jobStatus(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    const elsewhere = notThisAgent(request, context);
    if (elsewhere) return elsewhere;
    const jobId = request.params.jobId ?? '';
    if (!ID_PATTERN.test(jobId)) return json(400, { message: `a job id ${ID_RULE}` });
    const record = await (await getRuntime()).jobs?.get(jobId);
    return record ? json(200, record) : json(404, { message: `no job ${jobId} for agent ${definition.name}` });
  }

  /**
   * A task sent by a caller waiting for the answer: run through the task entry (checked, once per
   * run id) within the caller's deadline and the HTTP front end's. A run worth another try answers
   * 503, which the caller's tool reports; the caller may send the same task again.
   */
  async function task(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    const elsewhere = notThisAgent(request, context);
    if (elsewhere) return elsewhere;
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      return json(400, { message: 'the request body is not JSON', requestId: context.invocationId });
    }
    const limit = Math.min(definition.limits.timeoutSeconds, AZURE_HTTP_TIMEOUT_SECONDS);
    try {
      return json(200, await runTask(await getRuntime(), body, { deadline: deadlineFrom(limit * 1000), messageId: context.invocationId, log: (line) => context.error(line) }));
    } catch (e) {
      if (e instanceof RetryableRunError) return json(503, { message: e.message, runId: e.runId });
      throw e;
    }
  }

  /**
   * A queued run through the shared life cycle (functions/entry/queued.ts). A run that throws is
   * abandoned, so Service Bus or Event Grid delivers it again, until either dead-letters it.
   */
  async function runOnce(run: QueuedRun, context: InvocationContext, delivery: Pick<QueuedRunOptions, 'lastDelivery' | 'maxDeliveries'> = {}): Promise<unknown> {
    return runQueued(await getRuntime(), run, { deadline: deadline(), ...delivery, ...stop, log: (line) => context.error(line) });
  }

  async function queueMessage(message: unknown, context: InvocationContext): Promise<unknown> {
    const started = Date.now();
    const deliveryCount = Number(context.triggerMetadata?.deliveryCount ?? 1);
    // Service Bus dead-letters a message that fails its last delivery.
    const last = options.maxDeliveries !== undefined && deliveryCount >= options.maxDeliveries;
    const delivery = last ? { lastDelivery: 'dead_lettered' as const } : {};
    const messageId = String(context.triggerMetadata?.messageId ?? context.invocationId);
    try {
      const body = typeof message === 'string' ? messageBody(message) : message;
      // The end of a hand-off or job this agent sent, reported through the team's topic: kept on its record.
      const report = reportOf(body, definition.name);
      if (report) return await recordChildReport((await getRuntime()).jobs, definition.name, report.data, (line) => context.error(line));
      const task = taskOf(body);
      // A hand-off or job from another agent, as the team's topic delivers it: checked and run once per run id.
      if (task !== undefined) return await runTask(await getRuntime(), task, { deadline: deadline(), ...delivery, ...stop, messageId, log: (line) => context.error(line) });
      return await runOnce(parseMessage(body, messageId, await requestParser()), context, delivery);
    } catch (error) {
      if (!last && !(error instanceof RunInterrupted)) {
        const hostTimeLeft = started + (definition.limits.timeoutSeconds + AZURE_AFTER_RUN_SECONDS) * 1000 - Date.now();
        await (options.sleep ?? sleep)(redeliveryPauseMs(deliveryCount, hostTimeLeft));
      }
      throw error;
    }
  }

  async function event(received: EventGridEvent, context: InvocationContext): Promise<unknown> {
    // Event Grid does not tell the handler which delivery this is; the job record counts them.
    return runOnce({ runId: received.id, trigger: 'event', input: received as unknown as Record<string, unknown> }, context, options.maxEventDeliveries !== undefined ? { maxDeliveries: options.maxEventDeliveries } : {});
  }

  const schedule = (index: number) => async (timer: Timer, context: InvocationContext) => {
    const trigger = definition.triggers.filter((t) => t.type === 'schedule')[index];
    if (!trigger) throw new Error(`agent ${definition.name} has no schedule ${index}`);
    // One run per occurrence, however often the timer fires for it (a host restart, a past-due
    // catch-up, two instances); nothing retries a timer's run and it has no dead-letter queue, so
    // a failure is final.
    const runId = scheduledRunId(`${index}-${timerOccurrence(timer)}`);
    return runOnce({ runId, trigger: 'schedule', input: trigger.input }, context, { lastDelivery: 'failed' });
  };

  return { invoke, submitJob, jobStatus, task, queueMessage, event, schedule };
}

/** The event types tasks are published with (`taskEventType`): `handoff.to.NAME`, `delegation.to.NAME`. */
const TASK_EVENT_TYPE = /^(handoff|delegation)\.to\./;

/**
 * The task an Event Grid event from the team's topic carries, or undefined for any other message.
 * Its data is handed to the task entry as it is, which fails a malformed one at once, saying why.
 */
export function taskOf(body: unknown): unknown {
  const event = body as Partial<EventGridEvent> | undefined;
  if (typeof event?.eventType !== 'string' || !TASK_EVENT_TYPE.test(event.eventType) || typeof event.subject !== 'string') return undefined;
  return event.data;
}

/** The end of a hand-off or job `self` sent, as the team's topic delivers its report (`result.to.NAME`), or undefined. */
export function reportOf(body: unknown, self: string): { readonly data: unknown } | undefined {
  const event = body as Partial<EventGridEvent> | undefined;
  return isReportTo(event?.eventType, self) ? { data: event!.data } : undefined;
}

/** What a Service Bus message asks for: a job from the API, an Event Grid event, or a request body. */
export function parseMessage(body: unknown, messageId: string, parseRequestBody: Parser): QueuedRun {
  const job = body as Partial<JobMessage> | undefined;
  if (typeof job?.jobId === 'string') return jobRun(job.jobId, { input: job.input }, parseRequestBody);
  const event = body as Partial<EventGridEvent> | undefined;
  if (typeof event?.id === 'string' && typeof event.eventType === 'string' && typeof event.subject === 'string') return { runId: event.id, trigger: 'event', input: body as Record<string, unknown> };
  return plainRun(body, messageId, parseRequestBody);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The 404 for a route naming another agent: each app serves one. */
export function otherAgent(agent: string, request: HttpRequest, context: InvocationContext): HttpResponseInit | undefined {
  if (request.params.name === agent) return undefined;
  return json(404, { message: `no agent named "${request.params.name}" here`, requestId: context.invocationId });
}

/** A route's JSON body for this agent, or the response that refuses it (another agent: 404; not JSON: 400). */
export async function jsonBody(agent: string, request: HttpRequest, context: InvocationContext): Promise<{ readonly value: unknown } | { readonly response: HttpResponseInit }> {
  const elsewhere = otherAgent(agent, request, context);
  if (elsewhere) return { response: elsewhere };
  try {
    return { value: JSON.parse(await request.text()) };
  } catch {
    return { response: json(400, { message: 'the request body is not JSON', requestId: context.invocationId }) };
  }
}

export function json(status: number, body: unknown): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'content-type': 'application/json' } };
}

function isResponse(value: RequestBody | HttpResponseInit): value is HttpResponseInit {
  return typeof (value as HttpResponseInit).status === 'number';
}

/**
 * The schedule occurrence a timer invocation is for, to the minute (the finest a schedule
 * expression names), as `YYYYMMDDTHHmmZ`. With schedule monitoring (on for every schedule of a
 * minute or more) `scheduleStatus.next` is the occurrence that started this invocation, as the
 * scheduler sees it; without it, the minute the invocation started.
 */
export function timerOccurrence(timer: Pick<Timer, 'scheduleStatus'> | undefined, now = Date.now()): string {
  const next = timer?.scheduleStatus?.next ? Date.parse(timer.scheduleStatus.next) : Number.NaN;
  const at = new Date(Math.floor((Number.isNaN(next) ? now : next) / 60_000) * 60_000);
  return at.toISOString().slice(0, 16).replace(/[-:]/g, '') + 'Z';
}
