import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import dynalite from 'dynalite';
import { runtimeBundleDir } from '../../constructs/bundle/runtime-bundle';
import { AGENT_CONFIG_ENV } from '../../contract/config/runtime-config';
import { RUNTIME_ENV } from '../../contract/config/settings';
import { readSkillsFolder, SKILL_INDEX_KEY } from '../../contract/skills/catalog';
import { SingleAgentStack } from '../../stacks/single-agent/single-agent-stack';
import { loopbackAwsEnvironment, startEventBridgeFake, startS3Fake, startSecretsManagerFake, startSqsFake, type EventBridgeFake, type S3Fake, type SecretsManagerFake, type SqsFake } from '../__fixtures__/aws-fakes';
import { startAnthropicFake, startBedrockFake, type ModelFake } from '../__fixtures__/model-fakes';
import { REPO, ROUTER, SKILLS } from '../helpers';
import { filesLoadedAtStart } from '../__fixtures__/bundle-graph';

/**
 * The runtime bundle exactly as `cdk synth` stages it, loaded in a plain Node process with the
 * environment AgentFunction gives it, and driven with API Gateway and SQS events. Every AWS
 * service is a loopback fake or emulator: Bedrock, S3 and EventBridge fakes, DynamoDB in dynalite.
 */

const run = promisify(execFile);
const TABLE = 'agent-state';
const BUCKET = 'skills';
const AUDIT = 'audit';
/** The agent queue's URL, on the SQS fake: the SQS client sends to the host a queue URL names. */
let QUEUE_URL: string;

let bedrock: ModelFake;
let anthropic: ModelFake;
let secrets: SecretsManagerFake;
let s3: S3Fake;
let events: EventBridgeFake;
let sqs: SqsFake;
let dynamo: ReturnType<typeof dynalite>;
let dynamoUrl: string;
let environment: NodeJS.ProcessEnv;
/** While true, every model target is down: Bedrock answers 503 and the Anthropic API 529. */
let outage = false;

const future = () => new Date(Date.now() + 3 * 86_400_000).toISOString();
const triage = (summary: string) =>
  JSON.stringify({ category: 'billing', severity: 'sev3', summary, nextAction: 'answer', dueBy: future(), confidence: 0.9 });

before(async () => {
  // The model answers every request with a triage whose summary echoes the prompt; a prompt
  // saying BROKEN gets a due date in the past, which the output rules refuse, even after repair.
  // A prompt saying REFUSED is refused as a bad request (400); one saying DOWN finds Bedrock
  // unavailable (503) and, behind it, the Anthropic API overloaded (529).
  const promptOf = (body: unknown) => {
    const first = (body as { messages: { content: ({ text?: string } | string)[] | string }[] }).messages[0]?.content;
    return typeof first === 'string' ? first : (first?.map((c) => (typeof c === 'string' ? c : (c.text ?? ''))).join('') ?? '');
  };
  bedrock = await startBedrockFake((body) => {
    const prompt = promptOf(body);
    if (outage) return { status: 503 };
    if (prompt.includes('REFUSED')) return { status: 400 };
    if (prompt.includes('DOWN')) return { status: 503 };
    const answer = prompt.includes('BROKEN') ? { ...JSON.parse(triage(prompt)), dueBy: '2020-01-01T00:00:00Z' } : JSON.parse(triage(`seen: ${prompt}`));
    return { text: JSON.stringify(answer), usage: { inputTokens: 1200, outputTokens: 80 } };
  });
  anthropic = await startAnthropicFake((body) => (outage || promptOf(body).includes('everywhere') ? { status: 529 } : { text: triage(`fallback: ${promptOf(body)}`) }));
  secrets = await startSecretsManagerFake({ 'team/anthropic': 'test-anthropic-key' });
  sqs = await startSqsFake();
  QUEUE_URL = `${sqs.url}/123456789012/support`;
  const index = readSkillsFolder(SKILLS);
  const skillFiles = Object.fromEntries(
    index.skills.flatMap((s) => ['SKILL.md', ...s.files].map((f) => [`${BUCKET}/${s.name}/${f}`, readFileSync(join(SKILLS, s.name, f), 'utf8')])),
  );
  s3 = await startS3Fake({ [`${BUCKET}/${SKILL_INDEX_KEY}`]: JSON.stringify(index), ...skillFiles });
  events = await startEventBridgeFake();
  dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint: dynamoUrl, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await client.send(new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  client.destroy();

  // The example agent's configuration, as synthesized for its function.
  const template = Template.fromStack(new SingleAgentStack(new App(), 'Stage1', { env: { account: '123456789012', region: 'eu-west-1' }, models: ROUTER }));
  const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((r) => r.Properties.Environment?.Variables?.[AGENT_CONFIG_ENV]);
  environment = {
    PATH: process.env.PATH,
    [AGENT_CONFIG_ENV]: fn!.Properties.Environment.Variables[AGENT_CONFIG_ENV],
    [RUNTIME_ENV.skillsBucket]: BUCKET,
    [RUNTIME_ENV.bus]: 'agents',
    [RUNTIME_ENV.stateTable]: TABLE,
    [RUNTIME_ENV.auditBucket]: AUDIT,
    [RUNTIME_ENV.queueMaxReceives]: '3',
    [RUNTIME_ENV.queueUrl]: QUEUE_URL,
    ...loopbackAwsEnvironment({ bedrock: bedrock.url, s3: s3.url, eventBridge: events.url, dynamoDb: dynamoUrl, sqs: sqs.url, secretsManager: secrets.url, anthropic: anthropic.url }),
    POWERTOOLS_METRICS_DISABLED: 'false',
  };
});

after(async () => {
  await Promise.all([bedrock?.close(), anthropic?.close(), secrets?.close(), s3?.close(), events?.close(), sqs?.close(), new Promise((r) => dynamo?.close(r))]);
});

/** Runs the bundle's handler on each event in one fresh Node process, as one Lambda environment would. */
async function invoke(...eventsToSend: unknown[]): Promise<unknown[]> {
  return invokeJson(JSON.stringify(eventsToSend));
}

/** Sends events given as JSON text, as Lambda hands the handler what it parsed. */
async function invokeJson(events: string): Promise<unknown[]> {
  const bundle = join(runtimeBundleDir('aws'), 'index.mjs');
  const script = `
    const { handler } = await import(${JSON.stringify(bundle)});
    const context = { functionName: 'support-agent', awsRequestId: 'req', getRemainingTimeInMillis: () => 60000 };
    const results = [];
    for (const event of JSON.parse(${JSON.stringify(events)})) results.push(await handler(event, context));
    process.stdout.write('RESULTS' + JSON.stringify(results));`;
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '--no-warnings', '-e', script], { env: environment, cwd: REPO, maxBuffer: 50 * 1024 * 1024 });
  // The handler logs to stderr; DEBUG_BUNDLE=1 shows it when a test fails on a 500.
  if (process.env.DEBUG_BUNDLE) console.error(stderr, stdout.slice(0, 3000));
  return JSON.parse(stdout.slice(stdout.lastIndexOf("RESULTS") + "RESULTS".length));
}

const apiEvent = (body: unknown, requestId = 'req-1', route: 'invocations' | 'jobs' = 'invocations') => ({
  kind: 'invocation',
  route,
  agent: 'support',
  path: `/v1/agents/support/${route}`,
  requestId,
  requestTimeEpoch: Date.now(),
  caller: 'arn:aws:iam::123456789012:user/tester',
  body,
});
const jobMessage = (jobId: string, body: unknown, messageId = `msg-${jobId}`, receives = 1) => ({
  messageId,
  receiptHandle: 'rh',
  body: JSON.stringify(body),
  attributes: { ApproximateReceiveCount: String(receives) },
  messageAttributes: { jobId: { stringValue: jobId, dataType: 'String' }, agent: { stringValue: 'support', dataType: 'String' } },
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:support',
  awsRegion: 'eu-west-1',
});

/** A job's record as the runtime wrote it to the state table. */
async function jobRecord(jobId: string): Promise<Record<string, any>> {
  const client = new DynamoDBClient({ endpoint: dynamoUrl, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const item = await client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: `job#support#${jobId}` } }, ConsistentRead: true }));
  client.destroy();
  return JSON.parse(item.Item!.record!.S!) as Record<string, any>;
}

describe('what the runtime bundles load at start', () => {
  it('leaves zod, the model SDKs and Powertools batch for first use, on both clouds', () => {
    for (const cloud of ['aws', 'azure'] as const) {
      const dir = runtimeBundleDir(cloud);
      const files = filesLoadedAtStart(dir);
      const text = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
      assert.doesNotMatch(text, /\$ZodType|ZodError/, `${cloud}: zod loads with the first body or answer to check`);
      assert.doesNotMatch(text, /class Anthropic\b|BedrockRuntimeClient/, `${cloud}: model SDKs load with the first call`);
      assert.doesNotMatch(text, /DurableOperationError|DurableOrchestrationContext|class DurableClient\b/, `${cloud}: the durable engines' SDKs load only in a durable agent`);
      assert.ok(files.length < readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.mjs')).length, `${cloud}: some chunks wait for first use`);
    }
  });
});

describe('the synthesized runtime bundle, in plain Node against loopback fakes', () => {
  it('answers an API invocation with the validated answer, and writes audit and event', async () => {
    const [response] = (await invoke(apiEvent({ input: 'I was charged twice for order ord_12345678.' }))) as { statusCode: number; body: string }[];
    assert.equal(response!.statusCode, 200, response!.body);
    const body = JSON.parse(response!.body);
    assert.equal(body.stopReason, 'end_turn');
    assert.equal(body.structuredOutput.category, 'billing');
    assert.match(body.structuredOutput.summary, /charged twice/);
    assert.equal(body.model, 'anthropic.claude-sonnet-4-5-20250929-v1:0');
    // What the real Bedrock client sent: the skill catalog in a cached system prefix.
    const sent = bedrock.requests.at(-1)!.body as { system: { text?: string; cachePoint?: unknown }[] };
    assert.ok(sent.system.some((b) => b.text?.includes('ticket-triage:')));
    assert.ok(sent.system.some((b) => b.cachePoint));
    const audit = [...s3.objects.keys()].find((k) => k.startsWith(`${AUDIT}/agent=support/date=`) && k.includes('/req-1/'));
    assert.match(String(audit), /\/date=\d{4}-\d{2}-\d{2}\/req-1\/\d{8}T\d{9}Z-[0-9a-f]{6}\.jsonl$/, 'the run is audited under its agent, date and attempt');
    const records = s3.objects.get(audit!)!.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.type), ['step', 'run']);
    const completed = events.entries.find((e) => e.DetailType === 'run.completed' && (e.Detail as { runId: string }).runId === 'req-1');
    assert.equal((completed?.Detail as { agent: string })?.agent, 'support');
    assert.equal(completed?.Source, 'serverless-agents');
  });

  it('stops a synchronous run in time to answer within the api trigger\'s timeout, counted from when the API took the request', async () => {
    const before = bedrock.requests.length;
    // Taken 28 s ago: of the 29 s API Gateway waits, too little is left to call a model.
    const [response] = (await invoke({ ...apiEvent({ input: 'Where is ord_12345678?' }, 'req-late'), requestTimeEpoch: Date.now() - 60_000 })) as { statusCode: number; body: string }[];
    assert.equal(response!.statusCode, 504, response!.body);
    assert.deepEqual([JSON.parse(response!.body).stopReason, JSON.parse(response!.body).retryable], ['deadline', true]);
    assert.equal(bedrock.requests.length, before);
  });

  it('answers a malformed body 400 with the reason, without calling the model', async () => {
    const before = bedrock.requests.length;
    const [response] = (await invoke(apiEvent({ prompt: 'hi' }))) as { statusCode: number; body: string }[];
    assert.equal(response!.statusCode, 400);
    const body = JSON.parse(response!.body);
    assert.equal(body.message, 'invalid request body');
    assert.ok(body.problems.some((p: string) => /input/.test(p)), body.problems.join('; '));
    assert.equal(bedrock.requests.length, before);
  });

  it('answers a body nested thousands of levels deep 400, without walking it', async () => {
    // Written as text: serializing it here would overflow this test's own stack.
    const body = `{"input":${'{"a":'.repeat(5000)}"deep"${'}'.repeat(5000)}}`;
    const event = JSON.stringify(apiEvent({})).replace('"body":{}', `"body":${body}`);
    const [response] = (await invokeJson(`[${event}]`)) as { statusCode: number; body: string }[];
    assert.equal(response!.statusCode, 400);
    assert.deepEqual(JSON.parse(response!.body).problems, ['(body): is nested deeper than 32 levels']);
  });

  it('runs the good job of a batch, and fails a poison job at once, saying why, instead of redelivering it', async () => {
    const [result] = (await invoke({ Records: [jobMessage('job-good', { input: 'Refund please' }), jobMessage('job-bad', { nonsense: true })] })) as { batchItemFailures: { itemIdentifier: string }[] }[];
    assert.deepEqual(result!.batchItemFailures, []);
    const bad = await jobRecord('job-bad');
    assert.equal(bad.status, 'failed');
    assert.match(bad.error, /the job's body is invalid: input: must be the prompt/);
    const client = new DynamoDBClient({ endpoint: dynamoUrl, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const item = await client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'job#support#job-good' } } }));
    client.destroy();
    assert.equal(item.Item?.status?.S, 'succeeded');
    assert.match(JSON.parse(item.Item!.record!.S!).output, /Refund please/);
  });

  it('answers 422 with the validation report when the answer fails its contract after repair', async () => {
    const [response] = (await invoke(apiEvent({ input: 'BROKEN ticket' }, 'req-422'))) as { statusCode: number; body: string }[];
    assert.equal(response!.statusCode, 422);
    const body = JSON.parse(response!.body);
    assert.equal(body.validation.ok, false);
    assert.deepEqual(body.validation.problems.map((p: { path: string }) => p.path), ['dueBy']);
    assert.ok(events.entries.some((e) => e.DetailType === 'run.failed' && (e.Detail as { runId: string }).runId === 'req-422'));
  });

  it('fails a job whose answer breaks its contract at once: failed with the report, announced, not delivered again', async () => {
    const [result] = (await invoke({ Records: [jobMessage('job-broken', { input: 'BROKEN job' })] })) as { batchItemFailures: unknown[] }[];
    assert.deepEqual(result!.batchItemFailures, [], 'done with: another delivery would break the contract again');
    const job = await jobRecord('job-broken');
    assert.equal(job.status, 'failed');
    assert.match(job.error, /the answer failed validation: dueBy: the due time must be ahead of now/);
    assert.equal(job.validation.ok, false);
    const failed = events.entries.find((e) => e.DetailType === 'run.failed' && (e.Detail as { runId: string }).runId === 'job-broken')!.Detail as { status: string; error: string };
    assert.equal(failed.status, 'failed');
    assert.equal(sqs.sent.length, 0, 'nothing is sent to the dead-letter queue by hand');
  });

  it('fails a job a model refuses as a bad request at once, without trying another target or delivery', async () => {
    const before = anthropic.requests.length;
    const [result] = (await invoke({ Records: [jobMessage('job-refused', { input: 'REFUSED request' })] })) as { batchItemFailures: unknown[] }[];
    assert.deepEqual(result!.batchItemFailures, []);
    const job = await jobRecord('job-refused');
    assert.deepEqual([job.status, job.stopReason], ['failed', 'model_error']);
    assert.match(job.error, /a model refused the request/);
    assert.equal(anthropic.requests.length, before, 'a client error goes to no other target');
  });

  it('puts a job back on the queue while no model answers, and dead-letters it on its last receive, saying so', async () => {
    const first = (await invoke({ Records: [jobMessage('job-down', { input: 'DOWN everywhere' })] })) as { batchItemFailures: { itemIdentifier: string }[] }[];
    assert.deepEqual(first[0]!.batchItemFailures, [{ itemIdentifier: 'msg-job-down' }], 'retried');
    let job = await jobRecord('job-down');
    assert.deepEqual([job.status, job.stopReason, job.deliveries], ['queued', 'model_unavailable', 1]);
    assert.ok(!events.entries.some((e) => (e.Detail as { runId: string }).runId === 'job-down'), 'no event while it may still succeed');

    const last = (await invoke({ Records: [jobMessage('job-down', { input: 'DOWN everywhere' }, 'msg-job-down', 3)] })) as { batchItemFailures: unknown[] }[];
    assert.equal(last[0]!.batchItemFailures.length, 1, 'failed once more, so SQS moves it to the dead-letter queue');
    job = await jobRecord('job-down');
    assert.equal(job.status, 'dead_lettered');
    assert.match(job.error, /no model was available: every model target failed/);
    const failed = events.entries.filter((e) => e.DetailType === 'run.failed' && (e.Detail as { runId: string }).runId === 'job-down');
    assert.equal(failed.length, 1);
    assert.equal((failed[0]!.Detail as { status: string }).status, 'dead_lettered');
  });

  it('falls back to the next target when the first is unavailable, and answers from it', async () => {
    const [response] = (await invoke(apiEvent({ input: 'Bedrock is DOWN but not the rest' }, 'req-fallback'))) as { statusCode: number; body: string }[];
    assert.equal(response!.statusCode, 200, response!.body);
    const body = JSON.parse(response!.body);
    assert.deepEqual([body.provider, body.stopReason], ['anthropic', 'end_turn']);
    assert.match(JSON.stringify(anthropic.requests.at(-1)!.headers), /test-anthropic-key/, 'the key from Secrets Manager');
  });

  it('answers 503 with the reason when no model is available, and 502 when a model refuses the request', async () => {
    const [down, refused] = (await invoke(apiEvent({ input: 'DOWN everywhere' }, 'req-503'), apiEvent({ input: 'REFUSED request' }, 'req-502'))) as { statusCode: number; body: string }[];
    assert.equal(down!.statusCode, 503);
    assert.deepEqual([JSON.parse(down!.body).stopReason, JSON.parse(down!.body).retryable], ['model_unavailable', true]);
    assert.match(JSON.parse(down!.body).message, /^no model was available: every model target failed/);
    assert.equal(refused!.statusCode, 502);
    assert.equal(JSON.parse(refused!.body).stopReason, 'model_error');
    for (const runId of ['req-503', 'req-502']) {
      assert.ok(events.entries.some((e) => e.DetailType === 'run.failed' && (e.Detail as { runId: string }).runId === runId));
    }
  });

  it('runs a scheduled prompt and a queued EventBridge event', async () => {
    const schedule = { ...jobMessage('x', {}), messageId: 'sched-1', messageAttributes: {}, body: JSON.stringify({ source: 'schedule', input: 'Daily digest' }) };
    const event = { ...jobMessage('x', {}), messageId: 'evt-msg', messageAttributes: {}, body: JSON.stringify({ id: 'evt-1', 'detail-type': 'ticket.opened', source: 'helpdesk', detail: { ticket: 42 } }) };
    const [result] = (await invoke({ Records: [schedule, event] })) as { batchItemFailures: unknown[] }[];
    assert.deepEqual(result!.batchItemFailures, []);
    const completed = events.entries.filter((e) => e.DetailType === 'run.completed').map((e) => e.Detail as { runId: string; trigger: string });
    assert.ok(completed.some((d) => d.runId === 'sched-1' && d.trigger === 'schedule'));
    assert.ok(completed.some((d) => d.runId === 'evt-1' && d.trigger === 'event'));
  });

  it('runs a schedule firing once however many times EventBridge delivers it, keyed by its event id', async () => {
    const firing = JSON.stringify({ source: 'schedule', input: 'Weekly digest', eventId: 'fire-7', time: '2026-12-07T06:00:00Z' });
    const copy = (messageId: string) => ({ ...jobMessage('x', {}), messageId, messageAttributes: {}, body: firing });
    const before = bedrock.requests.length;
    const results = (await invoke({ Records: [copy('sched-a')] }, { Records: [copy('sched-b')] })) as { batchItemFailures: unknown[] }[];
    assert.deepEqual(results.map((r) => r.batchItemFailures), [[], []]);
    assert.equal(bedrock.requests.length, before + 1, 'two deliveries, one run');
    assert.equal((await jobRecord('schedule-fire-7')).status, 'succeeded');
  });

  it('does not run a redelivered job that already finished', async () => {
    const message = jobMessage('job-once', { input: 'Close my account' });
    const before = bedrock.requests.length;
    const results = (await invoke({ Records: [message] }, { Records: [{ ...message, messageId: 'redelivered' }] })) as { batchItemFailures: unknown[] }[];
    assert.deepEqual(results.map((r) => r.batchItemFailures), [[], []]);
    assert.equal(bedrock.requests.length, before + 1, 'the model ran once for two deliveries');
  });

  it('answers a request retried with its idempotency key with the first answer, without a run, and refuses the key for another body', async () => {
    const body = { input: 'Refund order ord_12345678, charged twice.', idempotencyKey: 'refund-ord-1' };
    const before = bedrock.requests.length;
    const [first, again, reordered, other] = (await invoke(
      apiEvent(body, 'req-k1'),
      apiEvent(body, 'req-k2'),
      apiEvent({ idempotencyKey: body.idempotencyKey, input: body.input }, 'req-k3'),
      apiEvent({ ...body, input: 'Refund order ord_87654321.' }, 'req-k4'),
    )) as { statusCode: number; body: string }[];
    assert.equal(first!.statusCode, 200, first!.body);
    assert.equal(again!.statusCode, 200);
    assert.equal(again!.body, first!.body, 'the same answer, byte for byte');
    assert.equal(reordered!.body, first!.body, 'key order in the body does not make another request');
    assert.equal(bedrock.requests.length, before + 1, 'one run for three requests');
    assert.equal(other!.statusCode, 409);
    assert.match(JSON.parse(other!.body).message, /idempotency key "refund-ord-1" was already used for a different request/);
    assert.equal(JSON.parse(other!.body).idempotencyKey, 'refund-ord-1');
    assert.equal(auditObjects('refund-ord-1').length, 1);
    const record = await jobRecord('refund-ord-1');
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.response, { status: 200, body: JSON.parse(first!.body) });
  });

  it('runs a keyed request again when retried after no model answered, and keeps both attempts audited', async () => {
    const body = { input: 'Where is my parcel for ord_12345678?', idempotencyKey: 'parcel-1' };
    outage = true;
    const [down] = (await invoke(apiEvent(body, 'req-o1'))) as { statusCode: number; body: string }[];
    outage = false;
    const [retried, replayed] = (await invoke(apiEvent(body, 'req-o2'), apiEvent(body, 'req-o3'))) as { statusCode: number; body: string }[];
    assert.equal(down!.statusCode, 503, down!.body);
    assert.equal(JSON.parse(down!.body).retryable, true);
    assert.equal(retried!.statusCode, 200, retried!.body);
    assert.equal(replayed!.body, retried!.body);
    const attempts = auditObjects('parcel-1').map((key) => s3.objects.get(key)!.toString('utf8').trim().split('\n').map((l) => JSON.parse(l)).find((r) => r.type === 'run'));
    assert.deepEqual(attempts.map((r) => r.stopReason).sort(), ['end_turn', 'model_unavailable']);
    assert.notEqual(attempts[0].attempt, attempts[1].attempt);
    assert.equal((await jobRecord('parcel-1')).deliveries, 2);
  });

  it('writes every audit object create-only, so S3 refuses to replace one', async () => {
    const puts = s3.requests.filter((r) => r.method === 'PUT' && decodeURIComponent(r.path).startsWith(`/${AUDIT}/agent=support/`));
    assert.ok(puts.length >= 3);
    assert.deepEqual([...new Set(puts.map((r) => r.headers['if-none-match']))], ['*']);
    // What S3 does with such a write to a key that exists: refuses it, and the first object stays.
    const key = `agent=support/date=2026-12-01/run-x/20261201T000000000Z-abcdef.jsonl`;
    s3.objects.set(`${AUDIT}/${key}`, Buffer.from('{"first":true}\n'));
    const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await assert.rejects(client.send(new PutObjectCommand({ Bucket: AUDIT, Key: key, Body: 'second', IfNoneMatch: '*' })), (e: Error & { $metadata: { httpStatusCode: number } }) => e.$metadata.httpStatusCode === 412);
    client.destroy();
    assert.equal(s3.objects.get(`${AUDIT}/${key}`)!.toString('utf8'), '{"first":true}\n');
  });

  it('takes a job from the API: records it queued, queues it with its attributes, once per idempotency key, and runs it from the queue', async () => {
    const body = { input: 'Order ord_12345678 arrived broken.', idempotencyKey: 'ticket-501' };
    const sentBefore = sqs.sent.length;
    const [accepted, again, other] = (await invoke(apiEvent(body, 'req-j1', 'jobs'), apiEvent(body, 'req-j2', 'jobs'), apiEvent({ ...body, input: 'Another order.' }, 'req-j3', 'jobs'))) as { statusCode: number; body: string }[];
    assert.equal(accepted!.statusCode, 202, accepted!.body);
    assert.deepEqual(JSON.parse(accepted!.body), { jobId: 'ticket-501', status: 'queued', statusUrl: '/v1/agents/support/jobs/ticket-501' });
    assert.equal((await jobRecord('ticket-501')).status, 'queued', 'readable at once, before any delivery');
    assert.equal(again!.statusCode, 202);
    assert.equal(other!.statusCode, 409);
    assert.match(JSON.parse(other!.body).message, /"ticket-501"/);
    const sent = sqs.sent.slice(sentBefore);
    // Sent twice: the resubmission came before any delivery touched the job, and the first send may have been lost.
    assert.equal(sent.length, 2);
    assert.deepEqual({ ...sent[0], attributes: { ...sent[0]!.attributes, submittedAt: undefined } }, { queueUrl: QUEUE_URL, body: JSON.stringify(body), attributes: { jobId: 'ticket-501', agent: 'support', caller: 'arn:aws:iam::123456789012:user/tester', submittedAt: undefined } });
    assert.ok(Math.abs(Number(sent[0]!.attributes.submittedAt) - Date.now()) < 120_000, 'submitted when API Gateway took the request');

    // Both copies arrive; the job runs once.
    const before = bedrock.requests.length;
    const copies = sent.map((m, i) => ({ ...jobMessage(m.attributes.jobId!, JSON.parse(m.body), `m-501-${i}`) }));
    await invoke({ Records: [copies[0]] }, { Records: [copies[1]] });
    assert.equal(bedrock.requests.length, before + 1);
    const record = await jobRecord('ticket-501');
    assert.deepEqual([record.status, record.deliveries], ['succeeded', 1]);
    const [late] = (await invoke(apiEvent(body, 'req-j4', 'jobs'))) as { statusCode: number; body: string }[];
    assert.equal(JSON.parse(late!.body).status, 'succeeded');
    assert.equal(sqs.sent.length, sentBefore + 2, 'a finished job is not queued again');
  });

  it('gives a job without a key the request id, and answers a malformed job 400 without queueing it', async () => {
    const sentBefore = sqs.sent.length;
    const [accepted, malformed] = (await invoke(apiEvent({ input: 'Where is ord_12345678?' }, 'req-j5', 'jobs'), apiEvent({ input: '' }, 'req-j6', 'jobs'))) as { statusCode: number; body: string }[];
    assert.equal(JSON.parse(accepted!.body).jobId, 'req-j5');
    assert.equal(malformed!.statusCode, 400);
    assert.equal(sqs.sent.length, sentBefore + 1);
  });
});

/** The audit objects of every attempt at a run, by key. */
const auditObjects = (runId: string) => [...s3.objects.keys()].filter((k) => k.startsWith(`${AUDIT}/agent=support/date=`) && k.includes(`/${runId}/`));
