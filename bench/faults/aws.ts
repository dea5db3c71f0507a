import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateTableCommand, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import dynalite from 'dynalite';
import { runtimeBundleDir } from '../../constructs/bundle/runtime-bundle';
import { AGENT_CONFIG_ENV, decodeAgentConfig, encodeAgentConfig } from '../../contract/config/runtime-config';
import { RUNTIME_ENV } from '../../contract/config/settings';
import type { JobRecord } from '../../contract/jobs/job-record';
import { readSkillsFolder, SKILL_INDEX_KEY } from '../../contract/skills/catalog';
import { STATE_KEYS, STATE_TABLE } from '../../contract/state/table';
import { SingleAgentStack } from '../../stacks/single-agent/single-agent-stack';
import { loopbackAwsEnvironment, startEventBridgeFake, startS3Fake, startSecretsManagerFake, startSqsFake } from '../../test/__fixtures__/aws-fakes';
import { startAnthropicFake, startBedrockFake } from '../../test/__fixtures__/model-fakes';
import { ROUTER, SKILLS } from '../../test/helpers';
import { faultReport, SimulatedQueue, type QueuedMessage } from './queue';
import {
  benchConfig,
  CONCURRENT_DUPLICATES,
  JOBS,
  jobInput,
  LATE_DUPLICATES,
  MAX_RECEIVES,
  modelCalls,
  modelTurn,
  pool,
  random,
  RUN_TIMEOUT_SECONDS,
  startToolServices,
  type FaultReport,
} from './scenario';

/**
 * The fault run on AWS: the Lambda runtime bundle as `cdk synth` stages it (or another build of it,
 * `FAULT_BUNDLE`), imported in this process with the environment AgentFunction gives it, every
 * service a loopback fake (DynamoDB in dynalite). Jobs are submitted through the handler's job
 * route (`FAULT_SUBMIT=api`), or, for a runtime whose jobs API Gateway queued itself, written as
 * the API wrote them (`direct`); SQS is simulated around the handler. Prints a FaultReport as JSON.
 */

const SUBMIT = process.env.FAULT_SUBMIT ?? 'api';
const CONSUMERS = Number(process.env.FAULT_CONSUMERS ?? 40);
const TABLE = 'agent-state';
/**
 * When a message handed back is visible again. AgentQueue sets the visibility timeout to six times
 * the function's; the bench waits the function's timeout, scaled like the run limit, enough that
 * a redelivery never meets the delivery before it still running, as in SQS.
 */
const VISIBILITY_MS = Number(process.env.FAULT_VISIBILITY_MS ?? (RUN_TIMEOUT_SECONDS + 5) * 1000);
const BUCKET = 'skills';
const AGENT = 'support';

async function main(): Promise<FaultReport> {
  const tools = await startToolServices();
  const bedrock = await startBedrockFake((body) => modelTurn(body, 503));
  const anthropic = await startAnthropicFake((body) => modelTurn(body, 529));
  const secrets = await startSecretsManagerFake({ 'team/anthropic': 'bench-anthropic-key' });
  const sqs = await startSqsFake();
  const index = readSkillsFolder(SKILLS);
  const skillFiles = Object.fromEntries(index.skills.flatMap((s) => ['SKILL.md', ...s.files].map((f) => [`${BUCKET}/${s.name}/${f}`, readFileSync(join(SKILLS, s.name, f), 'utf8')])));
  const s3 = await startS3Fake({ [`${BUCKET}/${SKILL_INDEX_KEY}`]: JSON.stringify(index), ...skillFiles });
  const events = await startEventBridgeFake();
  const dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  const dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  const db = new DynamoDBClient({ endpoint: dynamoUrl, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await db.send(new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));

  // The example agent's configuration as synthesized for its function, tools on loopback.
  const template = Template.fromStack(new SingleAgentStack(new App(), 'Faults', { env: { account: '123456789012', region: 'eu-west-1' }, models: ROUTER }));
  const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((r) => r.Properties.Environment?.Variables?.[AGENT_CONFIG_ENV]);
  const config = benchConfig(decodeAgentConfig(fn!.Properties.Environment.Variables[AGENT_CONFIG_ENV]), tools);
  const queueUrl = `${sqs.url}/123456789012/${AGENT}`;
  Object.assign(process.env, {
    [AGENT_CONFIG_ENV]: encodeAgentConfig(config),
    [RUNTIME_ENV.skillsBucket]: BUCKET,
    [RUNTIME_ENV.bus]: 'agents',
    [RUNTIME_ENV.stateTable]: TABLE,
    [RUNTIME_ENV.auditBucket]: 'audit',
    [RUNTIME_ENV.queueMaxReceives]: String(MAX_RECEIVES),
    [RUNTIME_ENV.queueUrl]: queueUrl,
    ...loopbackAwsEnvironment({ bedrock: bedrock.url, s3: s3.url, eventBridge: events.url, dynamoDb: dynamoUrl, sqs: sqs.url, secretsManager: secrets.url, anthropic: anthropic.url }),
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  // The handler logs each failed delivery; the report counts them instead (FAULT_DEBUG=1 shows them).
  if (!process.env.FAULT_DEBUG) silenceConsole();

  const bundle = process.env.FAULT_BUNDLE ?? join(runtimeBundleDir('aws'), 'index.mjs');
  const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: (event: unknown, context: unknown) => Promise<any> };
  const context = () => {
    const end = Date.now() + (RUN_TIMEOUT_SECONDS + 30) * 1000;
    // FAULT_ROUND_REMAINING: whole tens of ms, which the baseline needs (its deadline took 10% of
    // the remaining time and handed the fraction to a timer, which refuses it).
    const remaining = process.env.FAULT_ROUND_REMAINING ? () => Math.floor((end - Date.now()) / 10) * 10 : () => end - Date.now();
    return { functionName: 'support-agent', awsRequestId: `req-${random().toString(36).slice(2)}`, getRemainingTimeInMillis: remaining };
  };

  const started = Date.now();
  const queue = new SimulatedQueue({ maxReceives: MAX_RECEIVES, lateDuplicates: LATE_DUPLICATES, redeliveryDelayMs: VISIBILITY_MS });
  const jobIds = new Map<number, string>();
  let concurrentDuplicates = 0;
  const enqueue = (message: QueuedMessage) => {
    queue.send(message);
    if (random() < CONCURRENT_DUPLICATES) {
      concurrentDuplicates++;
      queue.send({ ...message, copy: 'concurrent' });
    }
  };
  const jobs = Array.from({ length: JOBS }, (_, n) => n);
  await pool(jobs, 20, async (n) => {
    const body = JSON.stringify({ input: jobInput(n) });
    if (SUBMIT === 'api') {
      const requestId = `api-${n}`;
      const response = await handler({ kind: 'invocation', route: 'jobs', agent: AGENT, path: `/v1/agents/${AGENT}/jobs`, requestId, requestTimeEpoch: Date.now(), caller: 'arn:aws:iam::123456789012:user/bench', body: JSON.parse(body) }, context());
      if (response.statusCode !== 202) throw new Error(`job ${n} refused: ${response.statusCode} ${response.body}`);
      jobIds.set(n, JSON.parse(response.body).jobId);
    } else {
      // What the API's request template did before jobs went through the function.
      const jobId = `direct-${n}`;
      const record = { jobId, agent: AGENT, status: 'queued', submittedAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
      await db.send(new PutItemCommand({ TableName: TABLE, Item: { [STATE_TABLE.partitionKey]: { S: STATE_KEYS.job(AGENT, jobId) }, [STATE_TABLE.record]: { S: JSON.stringify(record) } } }));
      jobIds.set(n, jobId);
      enqueue({ id: `msg-${n}`, job: n, body, attributes: { jobId, agent: AGENT, caller: 'bench', submittedAt: String(Date.now()) }, receives: 0 });
    }
  });
  for (const sent of sqs.sent) {
    const n = [...jobIds.entries()].find(([, id]) => id === sent.attributes.jobId)![0];
    enqueue({ id: `msg-${n}`, job: n, body: sent.body, attributes: sent.attributes, receives: 0 });
  }

  let lateThatRan = 0;
  await queue.drain(CONSUMERS, async (message) => {
    const before = modelCalls.get(message.job) ?? 0;
    const record = {
      messageId: message.id,
      receiptHandle: `rh-${message.id}-${message.receives}`,
      body: message.body,
      attributes: { ApproximateReceiveCount: String(message.receives), SentTimestamp: String(started), ApproximateFirstReceiveTimestamp: String(started) },
      messageAttributes: Object.fromEntries(Object.entries(message.attributes).map(([k, v]) => [k, { stringValue: v, dataType: k === 'submittedAt' ? 'Number' : 'String' }])),
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:eu-west-1:123456789012:${AGENT}`,
      awsRegion: 'eu-west-1',
    };
    // A Lambda invocation error (the handler threw) returns the whole batch, as SQS does.
    const result = await handler({ Records: [record] }, context());
    if (message.copy === 'late' && (modelCalls.get(message.job) ?? 0) > before) lateThatRan++;
    return result?.batchItemFailures?.length ? 'again' : 'done';
  });

  // Every job's record, read back from the table.
  const records = new Map<string, JobRecord>();
  let startKey: Record<string, any> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) if (item[STATE_TABLE.partitionKey]!.S!.startsWith(STATE_KEYS.jobPrefix(AGENT))) records.set(item[STATE_TABLE.partitionKey]!.S!.slice(STATE_KEYS.jobPrefix(AGENT).length), JSON.parse(item[STATE_TABLE.record]!.S!));
    startKey = page.LastEvaluatedKey;
  } while (startKey);

  const report = faultReport({
    cloud: 'AWS',
    runtime: process.env.FAULT_LABEL ?? 'this runtime',
    definition: config.definition,
    record: (n) => records.get(jobIds.get(n)!),
    jobs: JOBS,
    queue,
    tools,
    concurrentDuplicates,
    lateDuplicatesThatRan: lateThatRan,
    runFailedEvents: events.entries.filter((e) => e.DetailType === 'run.failed').length,
    started,
  });
  db.destroy();
  await Promise.all([tools.orders.close(), tools.tickets.close(), bedrock.close(), anthropic.close(), secrets.close(), sqs.close(), s3.close(), events.close(), new Promise((r) => dynamo.close(r))]);
  return report;
}

function silenceConsole(): void {
  for (const level of ['error', 'warn', 'info', 'log'] as const) console[level] = () => {};
}

const write = process.stdout.write.bind(process.stdout);
main().then(
  (report) => {
    write(`REPORT${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
