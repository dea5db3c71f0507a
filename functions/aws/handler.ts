import { createHash } from 'node:crypto';
import type { DurableContext } from '@aws/durable-execution-sdk-js';
import type { Context, EventBridgeEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { approvalDecided, approvalRequested, runDurable } from '../entry/durable';
import { isInvocation, type Invocation } from '../../contract/api/invocation';
import { isScheduleMessage, JOB_MESSAGE_ATTRIBUTES, scheduledRunId, type JobMessageAttributes } from '../../contract/api/messages';
import { RUNTIME_ENV, type AwsPeers } from '../../contract/config/settings';
import { STATE_KEYS, STATE_TABLE } from '../../contract/state/table';
import { loadConfig } from '../entry/config';
import { acceptJob, answerOnce, type JobSender } from '../entry/idempotency';
import { deadlineFrom } from '../entry/outcome';
import { syncTimeoutSeconds } from '../../contract/definition/sync-timeout';
import { jobRun, messageBody, plainRun, runQueued, type QueuedRun, type QueuedRunOptions } from '../entry/queued';
import { acceptTask, runTask } from '../entry/tasks';
import { isReportTo, recordChildReport } from '../entry/child-reports';
import { isAgentTask } from '../../contract/chain/envelope';
import { EventBridgePublisher } from './adapters';
import { NO_EVENTS } from '../core/events/events';
import type { DurableStore } from '../entry/checkpoints';
import type { RouteRuntime } from '../entry/approvals';
import { agentRecords, buildRuntime, type AwsRuntime } from './runtime';

/**
 * The Lambda entry point of every agent. One function serves the agent's triggers: synchronous
 * invocations from the API, queued jobs, schedules and events from its SQS queue, and events from
 * an EventBridge rule that targets it directly.
 */

/** The agent's configuration, read and verified once per execution environment (or container). */
export const config = loadConfig();
let runtime: Promise<AwsRuntime> | undefined;
const getRuntime = () => (runtime ??= buildRuntime(config).catch((e) => ((runtime = undefined), Promise.reject(e))));

const deadline = (context: Pick<Context, 'getRemainingTimeInMillis'>) => deadlineFrom(context.getRemainingTimeInMillis());

const loadRequestParser = () => import('../../contract/api/request.js').then((m) => m.parseRequestBody);

export async function handler(event: unknown, context: Context) {
  // A durable agent's starter: its queue's messages become executions of the agent, and it serves
  // the approvals and cancel routes, which only the API reaches.
  if (process.env[RUNTIME_ENV.durableTarget]) {
    if (isInvocation(event) && (event.route === 'approvals' || event.route === 'cancel')) return durableRoute(event);
    return startDurableRuns(process.env[RUNTIME_ENV.durableTarget]!, event, context);
  }
  // A durable agent: every invocation is an execution, whatever it carries.
  if (isDurableInvocation(event)) return durableInvocation(event, context);
  return dispatch(event, context);
}

/** What an invocation carries, served; `durable`, the execution it runs in, for a durable agent. */
async function dispatch(event: unknown, context: Context, durable?: DurableExecution) {
  if (isDurableStart(event)) return runDurableStart(event, context, durable);
  if (isSqsEvent(event)) return processBatch(event, context);
  if (isInvocation(event)) return invoke(event, context);
  // Another agent calling this one as a tool, by invoking its function (only a role granted it can).
  if (isDirectTask(event)) return runTask(await getRuntime(), event.agentTask, { deadline: deadline(context) });
  if (isEventBridgeEvent(event)) return runOnce({ runId: event.id, trigger: 'event', input: event as unknown as Record<string, unknown> }, context);
  return respond(400, { message: 'unrecognized event: expected an API invocation, an SQS batch or an EventBridge event' });
}

/**
 * `POST /agents/{name}/invocations`: run now and answer with the result. `POST /agents/{name}/jobs`:
 * record the job and put it on the agent's queue, with its attributes.
 */
async function invoke(invocation: Invocation, context: Context) {
  const { definition } = config;
  if (invocation.agent !== definition.name) return respond(404, { message: `no agent named "${invocation.agent}" here`, requestId: invocation.requestId });
  // Served by the starter only: whoever else may invoke the agent (the agents that call it) never
  // speaks for an approver.
  if (invocation.route === 'approvals' || invocation.route === 'cancel') return respond(404, { message: `the ${invocation.route} route of agent ${definition.name} is served by its starter`, requestId: invocation.requestId });
  const body = (await loadRequestParser())(invocation.body);
  if (!body.ok) return respond(400, { message: 'invalid request body', problems: body.problems, requestId: invocation.requestId });
  const rt = await getRuntime();
  const answer =
    invocation.route === 'jobs'
      ? await acceptJob(rt, body.body, { newJobId: invocation.requestId, statusUrl: (jobId) => `${invocation.path}/${jobId}` }, (job) => queueJob(rt, invocation, job))
      : await answerOnce(rt, body.body, { requestId: invocation.requestId, deadline: syncDeadline(invocation, context) });
  return respond(answer.status, answer.body);
}

/**
 * When a synchronous run must stop: in time to answer within the api trigger's timeout, counted
 * from when API Gateway took the request (the front end gives up then, whatever the function
 * does), and within the function's own time.
 */
function syncDeadline(invocation: Invocation, context: Context): number {
  const sync = syncTimeoutSeconds(config.definition) * 1000;
  const taken = Number.isFinite(invocation.requestTimeEpoch) ? invocation.requestTimeEpoch : Date.now();
  return deadlineFrom(Math.min(context.getRemainingTimeInMillis(), taken + sync - Date.now()));
}

/** Puts a job on the agent's queue, its attributes beside the body so they reach the dead-letter queue too. */
async function queueJob(rt: AwsRuntime, invocation: Invocation, job: Parameters<JobSender>[0]): Promise<void> {
  if (!rt.queueUrl) throw new Error(`agent ${config.definition.name} takes jobs but has no queue (${RUNTIME_ENV.queueUrl} is not set)`);
  const attributes: JobMessageAttributes = { jobId: job.jobId, agent: config.definition.name, caller: invocation.caller || 'anonymous', submittedAt: invocation.requestTimeEpoch };
  const { SQSClient, SendMessageCommand } = await import('@aws-sdk/client-sqs');
  sqs ??= new SQSClient({});
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: rt.queueUrl,
      MessageBody: JSON.stringify(job.body),
      MessageAttributes: Object.fromEntries(
        JOB_MESSAGE_ATTRIBUTES.map((name) => [name, typeof attributes[name] === 'number' ? { DataType: 'Number', StringValue: String(attributes[name]) } : { DataType: 'String', StringValue: String(attributes[name]) }]),
      ),
    }),
  );
}

let sqs: import('@aws-sdk/client-sqs').SQSClient | undefined;

/**
 * An SQS batch through Powertools, which reports only the failed messages back. Powertools batch
 * and idempotency load with the first batch, so agents called only through the API never pay
 * for them at start.
 */
const batch = lazy(() => import('@aws-lambda-powertools/batch').then(({ BatchProcessor, EventType, processPartialResponse }) => ({ processor: new BatchProcessor(EventType.SQS), processPartialResponse })));

async function processBatch(event: SQSEvent, context: Context) {
  const { processor, processPartialResponse } = await batch();
  const parseBody = await loadRequestParser();
  // A batch whose every message failed is reported like any other, message by message: SQS
  // then returns each to the queue, as it would after an invocation error, but without one.
  return processPartialResponse(event, (record: SQSRecord) => runRecord(record, context, parseBody), processor, { context, throwOnFullBatchFailure: false });
}

/**
 * One message of the agent's queue, run once: a task another agent sent, or a job, event, scheduled
 * run or request body. Rejects when the message should be delivered again. `stop`, from a container
 * host, ends the run early and hands it back (RunInterrupted).
 */
export async function runRecord(record: SQSRecord, context: Context, parseBody?: Awaited<ReturnType<typeof loadRequestParser>>, stop?: AbortSignal): Promise<unknown> {
  const report = reportOf(record);
  if (report) return recordChildReport((await getRuntime()).jobs, config.definition.name, report.detail);
  const task = taskOf(record);
  if (task) return runOnce({ runId: task.runId }, context, record, (options) => getRuntime().then((rt) => runTask(rt, task, options)), stop);
  return runOnce(parseRecord(record, parseBody ?? (await loadRequestParser())), context, record, undefined, stop);
}

/** The end of a hand-off or job this agent sent, reported over the bus (`result.to.NAME`), or undefined. */
function reportOf(record: SQSRecord): { readonly detail: unknown } | undefined {
  const body = messageBody(record.body);
  return isEventBridgeEvent(body) && isReportTo(body['detail-type'], config.definition.name) ? { detail: body.detail } : undefined;
}

/** A task another agent sent over the bus (its rule put the event on this agent's queue), or undefined. */
function taskOf(record: SQSRecord): { readonly runId: string } | undefined {
  const body = messageBody(record.body);
  if (!isEventBridgeEvent(body) || !/^(handoff|delegation)\.to\./.test(body['detail-type'])) return undefined;
  // A malformed task still goes to runTask, which records and reports why it cannot run.
  const detail = (body.detail ?? {}) as { runId?: unknown };
  return isAgentTask(detail) ? detail : { ...detail, runId: typeof detail.runId === 'string' ? detail.runId : record.messageId };
}

/**
 * A queued run through Powertools idempotency, so a redelivered run that already finished returns
 * its stored result even while the first delivery is still writing its job record.
 */
async function runOnce(run: Pick<QueuedRun, 'runId'> & Partial<QueuedRun>, context: Context, record?: SQSRecord, work?: (options: QueuedRunOptions) => Promise<unknown>, stop?: AbortSignal): Promise<unknown> {
  const rt = await getRuntime();
  const options = () => ({ ...deliveryOptions(rt, context, record), ...(stop && { stop }) });
  const execute = (r: Pick<QueuedRun, 'runId'>) => (work ? work(options()) : runQueued(rt, r as QueuedRun, options()));
  if (!rt.stateTable) return execute(run);
  const { IdempotencyConfig, makeIdempotent, persistenceStore } = await idempotency(rt.stateTable);
  const idempotencyConfig = new IdempotencyConfig({ eventKeyJmesPath: 'runId', expiresAfterSeconds: 7 * 86_400 });
  idempotencyConfig.registerLambdaContext(context);
  const idempotent = makeIdempotent((r: Pick<QueuedRun, 'runId'>) => execute(r), {
    persistenceStore,
    config: idempotencyConfig,
    keyPrefix: STATE_KEYS.idempotencyKeyPrefix(config.definition.name),
  });
  return idempotent(run);
}

/**
 * How the shared life cycle (functions/entry/queued.ts) is to treat this delivery. A message on its
 * last receive (SQS moves it to the dead-letter queue at its next receive) ends `dead_lettered` if
 * it fails again.
 */
function deliveryOptions(rt: AwsRuntime, context: Context, record?: SQSRecord): QueuedRunOptions {
  const receives = Number(record?.attributes?.ApproximateReceiveCount ?? 1);
  const last = record && rt.maxReceives !== undefined && receives >= rt.maxReceives;
  return { deadline: deadline(context), ...(last && { lastDelivery: 'dead_lettered' as const }) };
}

/** What an SQS message asks for: a job from the API, an event, a scheduled run, or a request body. */
function parseRecord(record: SQSRecord, parseBody: Awaited<ReturnType<typeof loadRequestParser>>): QueuedRun {
  const jobId = record.messageAttributes?.[JOB_ID]?.stringValue;
  const body = messageBody(record.body);
  if (jobId) return jobRun(jobId, body, parseBody);
  if (isEventBridgeEvent(body)) return { runId: body.id, trigger: 'event', input: body as unknown as Record<string, unknown> };
  if (isScheduleMessage(body)) return { runId: body.eventId ? scheduledRunId(body.eventId) : record.messageId, trigger: 'schedule', input: body.input };
  return plainRun(body, record.messageId, parseBody);
}

const JOB_ID: keyof JobMessageAttributes = 'jobId';

let idempotencyModules: ReturnType<typeof loadIdempotency> | undefined;
const idempotency = (tableName: string) => (idempotencyModules ??= loadIdempotency(tableName));
function loadIdempotency(tableName: string) {
  return Promise.all([import('@aws-lambda-powertools/idempotency'), import('@aws-lambda-powertools/idempotency/dynamodb')]).then(([core, { DynamoDBPersistenceLayer }]) => ({
    IdempotencyConfig: core.IdempotencyConfig,
    makeIdempotent: core.makeIdempotent,
    persistenceStore: new DynamoDBPersistenceLayer({ tableName, keyAttr: STATE_TABLE.partitionKey, expiryAttr: STATE_TABLE.expiration }),
  }));
}

/** A value computed on first use and kept for the life of the execution environment. */
function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= load().catch((e) => ((value = undefined), Promise.reject(e))));
}

/**
 * A durable execution of this agent, from the durable execution SDK (loaded with the first one, so
 * agents that are not durable never load it). What it carries is served as if it came directly: a
 * queued run started by the starter runs durably; anything else (an API call, another agent's call)
 * runs within the invocation, as it would in an agent that is not durable.
 */
async function durableInvocation(event: { DurableExecutionArn: string }, context: Context) {
  const { withDurableExecution } = await durableSdk();
  return withDurableExecution(async (payload: unknown, ctx: DurableContext) => dispatch(payload, context, { ctx, arn: event.DurableExecutionArn }))(event as never, context);
}

/** The durable execution an invocation runs in: its context, and its ARN (what cancel stops). */
interface DurableExecution {
  readonly ctx: DurableContext;
  readonly arn: string;
}
const durableSdk = lazy(() => import('@aws/durable-execution-sdk-js'));

/** What the starter hands an execution: the queued run, or the task another agent sent. */
interface DurableStart {
  readonly durableStart: { readonly run: QueuedRun } | { readonly task: unknown; readonly messageId: string };
}

function isDurableStart(event: unknown): event is DurableStart {
  return typeof event === 'object' && event !== null && 'durableStart' in event;
}

/**
 * A queued run as a durable execution: its steps and approvals recorded by the engine; the
 * execution's ARN and each approval's callback id kept where the routes find them, in the agent's
 * private part of the state table (never in the job record that the status route returns).
 */
async function runDurableStart(start: DurableStart, context: Context, durable: DurableExecution | undefined) {
  const rt = await getRuntime();
  if (!durable) return respond(400, { message: 'a durable run must come through the durable execution engine' });
  const { ctx } = durable;
  const execute = async (runtime: typeof rt, run: QueuedRun) => {
    if (run.invalid) return runQueued(runtime, run, { deadline: deadline(context) });
    await ctx.step('execution', async () => rt.durable?.put(handleKey(run.runId, 'execution'), durable.arn));
    const requested = approvalRequested(runtime, run);
    const { durableSteps } = await import('./durable.js');
    const steps = durableSteps(
      ctx,
      {
        requested: async (request) => {
          await rt.durable?.put(handleKey(run.runId, `callback-${request.callId}`), request.callbackId);
          await requested(request);
        },
        decided: approvalDecided(runtime, run),
      },
      process.env[RUNTIME_ENV.peers] ? (JSON.parse(process.env[RUNTIME_ENV.peers]!) as AwsPeers) : undefined,
    );
    return runDurable(runtime, run, steps);
  };
  const { durableStart } = start;
  if ('run' in durableStart) return execute(rt, durableStart.run);
  // Checked once, as a step: a replay after a long wait does not judge the task by the clock again.
  const { keepSmall, readKept } = await import('../entry/checkpoints.js');
  const kept = await ctx.step('task', async () => keepSmall(await acceptTask(rt, durableStart.task, { deadline: deadline(context), messageId: durableStart.messageId }), `${durableStart.messageId}/task`, rt.durable));
  const accepted = await readKept(kept as Awaited<ReturnType<typeof acceptTask>>, rt.durable);
  return 'result' in accepted ? accepted.result : execute(rt, accepted.run);
}

/** Where the engine's handles on a run are kept, under the agent's private prefix. */
const handleKey = (runId: string, what: string) => `${runId}/engine/${what}`;

/**
 * A durable agent's starter: each message of its queue starts one execution of the agent's alias,
 * named after the run's id, asynchronously (an execution may last a year). A message delivered
 * again starts nothing new: Lambda returns the execution already started under that name. A start
 * that fails returns the message to the queue, and at last to its dead-letter queue.
 */
async function startDurableRuns(target: string, event: unknown, context: Context) {
  if (!isSqsEvent(event)) return respond(400, { message: 'the starter of a durable agent takes only its queue' });
  const { processor, processPartialResponse } = await batch();
  const parseBody = await loadRequestParser();
  const { client, InvokeCommand } = await lambdaApi();
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      // A child's report starts nothing: the starter keeps it on the run's record (with no
      // state table, there is none to keep it on).
      const report = reportOf(record);
      if (report) {
        const table = process.env[RUNTIME_ENV.stateTable];
        return table ? recordChildReport(agentRecords(table, config.definition).jobs, config.definition.name, report.detail) : 'no record';
      }
      const task = taskOf(record);
      const run = task ? undefined : parseRecord(record, parseBody);
      const runId = run ? run.runId : task!.runId;
      // Nothing of the delivery itself (message id, receive count) in the payload: every copy of
      // one run's message starts the same execution.
      const start: DurableStart = run ? { durableStart: { run } } : { durableStart: { task: (messageBody(record.body) as { detail?: unknown }).detail, messageId: runId } };
      try {
        await client.send(new InvokeCommand({ FunctionName: target, InvocationType: 'Event', DurableExecutionName: executionName(runId), Payload: Buffer.from(JSON.stringify(start)) }));
      } catch (e) {
        // Started already under this name, from another message of the same run id: the run has
        // its execution, and this message is done.
        if ((e as Error).name === 'DurableExecutionAlreadyStartedException') {
          console.warn(JSON.stringify({ message: 'a durable run of this id was started already', runId, messageId: record.messageId }));
          return runId;
        }
        await deadLetteredStart(record, runId, e);
        throw e;
      }
      return runId;
    },
    processor,
    { context, throwOnFullBatchFailure: false },
  );
}

/** The Lambda API, for the starter's starts and the routes' callbacks and stops; loaded with the first. */
const lambdaApi = lazy(() => import('@aws-sdk/client-lambda').then((sdk) => ({ ...sdk, client: new sdk.LambdaClient({}) })));

/**
 * A run whose start failed on its message's last receive: SQS moves the message to the dead-letter
 * queue, with its attributes, and the job record says so, as for a run that failed there.
 */
async function deadLetteredStart(record: SQSRecord, runId: string, error: unknown): Promise<void> {
  const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
  const max = Number(process.env[RUNTIME_ENV.queueMaxReceives]) || undefined;
  const table = process.env[RUNTIME_ENV.stateTable];
  if (max === undefined || receives < max || !table) return;
  const { jobs } = agentRecords(table, config.definition);
  // Only a run that has not started: a record the run wrote itself is left as it is.
  const previous = await jobs.get(runId);
  if (previous && previous.status !== 'queued') return;
  await jobs.put({
    jobId: runId,
    agent: config.definition.name,
    status: 'dead_lettered',
    updatedAt: new Date().toISOString(),
    deliveries: receives,
    error: `the durable run could not be started in ${receives} deliveries: ${(error as Error).message}`,
  });
}

/** A run id as a durable execution's name: itself when Lambda takes it, otherwise a digest of it. */
function executionName(runId: string): string {
  if (/^[A-Za-z0-9_-]{1,64}$/.test(runId)) return runId;
  return `run-${createHash('sha256').update(runId).digest('hex').slice(0, 59)}`;
}

/**
 * `POST /agents/{name}/jobs/{jobId}/approvals` and `.../cancel` of a durable agent: the decision
 * completes the callback its run waits on; cancelling stops its execution. Both act only on this
 * function's own executions, which is all its role allows.
 */
async function durableRoute(invocation: Invocation) {
  const rt = routeRuntime();
  if (!config.definition.durable) return respond(404, { message: `agent ${config.definition.name} is not durable: its runs take no approvals and cannot be cancelled`, requestId: invocation.requestId });
  const { decideApproval, cancelRun, NoLongerWaiting } = await import('../entry/approvals.js');
  const { client, SendDurableExecutionCallbackSuccessCommand, StopDurableExecutionCommand } = await lambdaApi();
  const handle = async (what: string) => {
    const value = await rt.durable?.get(handleKey(invocation.jobId, what));
    if (!value) throw new Error(`the run ${invocation.jobId} has no ${what} recorded`);
    return value;
  };
  const answer =
    invocation.route === 'approvals'
      ? await decideApproval(rt, { jobId: invocation.jobId, approver: { id: invocation.caller, roles: invocation.roles ? invocation.roles.split(',').map((r) => r.trim()) : [] }, body: invocation.body, requestId: invocation.requestId }, async (waiting, decision) => {
          try {
            await client.send(new SendDurableExecutionCallbackSuccessCommand({ CallbackId: await handle(`callback-${waiting.callId}`), Result: Buffer.from(JSON.stringify(decision)) }));
          } catch (e) {
            // Lambda refuses a callback that completed, timed out or whose execution ended.
            const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 500;
            if (status >= 400 && status < 500) throw new NoLongerWaiting((e as Error).message);
            throw e;
          }
        })
      : await cancelRun(rt, { jobId: invocation.jobId, by: invocation.caller, requestId: invocation.requestId }, async () => {
          const arn = await rt.durable?.get(handleKey(invocation.jobId, 'execution'));
          // A run still queued has no execution yet: recorded cancelled, its start finds it so.
          if (arn) await client.send(new StopDurableExecutionCommand({ DurableExecutionArn: arn, Error: { ErrorType: 'Cancelled', ErrorMessage: `cancelled by ${invocation.caller || 'an anonymous caller'}` } }));
        });
  return respond(answer.status, answer.body);
}

/**
 * What the routes need, without the agent itself: its job records, its runs' engine handles and
 * its events. The starter builds no model, skill or tool client to answer a person.
 */
let routeParts: (RouteRuntime & { readonly durable?: DurableStore }) | undefined;
function routeRuntime(): RouteRuntime & { readonly durable?: DurableStore } {
  const table = process.env[RUNTIME_ENV.stateTable];
  const bus = process.env[RUNTIME_ENV.bus];
  return (routeParts ??= {
    config,
    ...(table && agentRecords(table, config.definition)),
    events: bus ? new EventBridgePublisher(bus) : NO_EVENTS,
  });
}

function isDurableInvocation(event: unknown): event is { DurableExecutionArn: string } {
  return typeof event === 'object' && event !== null && typeof (event as { DurableExecutionArn?: unknown }).DurableExecutionArn === 'string' && 'CheckpointToken' in event;
}

function respond(statusCode: number, body: unknown) {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as SQSEvent | undefined)?.Records;
  return Array.isArray(records) && records.length > 0 && records[0]?.eventSource === 'aws:sqs';
}

function isDirectTask(event: unknown): event is { agentTask: unknown } {
  return typeof event === 'object' && event !== null && 'agentTask' in event;
}

function isEventBridgeEvent(event: unknown): event is EventBridgeEvent<string, unknown> {
  const e = event as Partial<EventBridgeEvent<string, unknown>> | undefined;
  return typeof e?.id === 'string' && typeof e['detail-type'] === 'string' && typeof e.source === 'string';
}
