import type { Context, EventBridgeEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { isInvocation, type Invocation } from '../../contract/api/invocation';
import { isScheduleMessage, JOB_MESSAGE_ATTRIBUTES, scheduledRunId, type JobMessageAttributes } from '../../contract/api/messages';
import { RUNTIME_ENV } from '../../contract/config/settings';
import { STATE_KEYS, STATE_TABLE } from '../../contract/state/table';
import { loadConfig } from '../entry/config';
import { acceptJob, answerOnce, type JobSender } from '../entry/idempotency';
import { deadlineFrom } from '../entry/outcome';
import { syncTimeoutSeconds } from '../../contract/definition/sync-timeout';
import { jobRun, messageBody, plainRun, runQueued, type QueuedRun, type QueuedRunOptions } from '../entry/queued';
import { runTask } from '../entry/tasks';
import { isAgentTask } from '../../contract/chain/envelope';
import { buildRuntime, type AwsRuntime } from './runtime';

/**
 * The Lambda entry point of every agent. One function serves the agent's triggers: synchronous
 * invocations from the API, queued jobs, schedules and events from its SQS queue, and events from
 * an EventBridge rule that targets it directly.
 */

const config = loadConfig();
let runtime: Promise<AwsRuntime> | undefined;
const getRuntime = () => (runtime ??= buildRuntime(config).catch((e) => ((runtime = undefined), Promise.reject(e))));

const deadline = (context: Pick<Context, 'getRemainingTimeInMillis'>) => deadlineFrom(context.getRemainingTimeInMillis());

const loadRequestParser = () => import('../../contract/api/request.js').then((m) => m.parseRequestBody);

export async function handler(event: unknown, context: Context) {
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
  return processPartialResponse(
    event,
    (record: SQSRecord) => {
      const task = taskOf(record);
      return task ? runOnce({ runId: task.runId }, context, record, (options) => getRuntime().then((rt) => runTask(rt, task, options))) : runOnce(parseRecord(record, parseBody), context, record);
    },
    processor,
    { context, throwOnFullBatchFailure: false },
  );
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
async function runOnce(run: Pick<QueuedRun, 'runId'> & Partial<QueuedRun>, context: Context, record?: SQSRecord, work?: (options: QueuedRunOptions) => Promise<unknown>): Promise<unknown> {
  const rt = await getRuntime();
  const execute = (r: Pick<QueuedRun, 'runId'>) => (work ? work(deliveryOptions(rt, context, record)) : runQueued(rt, r as QueuedRun, deliveryOptions(rt, context, record)));
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
