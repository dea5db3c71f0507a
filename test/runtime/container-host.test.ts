import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { AGENT_CONFIG_ENV, encodeAgentConfig } from '../../contract/config/runtime-config';
import { CONTAINER_ENV, RUNTIME_ENV } from '../../contract/config/settings';
import { defineAgent, type AgentDefinitionInput } from '../../contract/definition';
import { DynamoJobStore } from '../../functions/aws/adapters';
import { loopbackAwsEnvironment, startEventBridgeFake, startS3Fake, startSqsFake, type EventBridgeFake, type S3Fake, type SqsFake } from '../__fixtures__/aws-fakes';
import { startContainerProcess, type ContainerProcess } from '../__fixtures__/container-process';
import { startBedrockFake, type FakeReply, type ModelFake } from '../__fixtures__/model-fakes';
import { agentInput } from '../helpers';

/**
 * The AWS container entry (functions/container/aws-entry.mts) as the image runs it: a plain Node
 * process with the environment AgentContainer or AgentCore gives it, every client pointed at a
 * loopback fake (Bedrock, DynamoDB in dynalite, SQS, S3, EventBridge).
 */
const TABLE = 'agent-state';
const ENTRY = 'functions/container/aws-entry.mts';
let dynamo: ReturnType<typeof dynalite>;
let dynamoUrl: string;
let sqs: SqsFake;
let s3: S3Fake;
let events: EventBridgeFake;
let bedrock: ModelFake;
/** The model's next replies; a request with none left hangs, as a stuck upstream does. */
const replies: FakeReply[] = [];
const running: ContainerProcess[] = [];

before(async () => {
  dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  await db().send(new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  sqs = await startSqsFake({ visibilityTimeoutSeconds: 60 });
  s3 = await startS3Fake();
  events = await startEventBridgeFake();
  bedrock = await startBedrockFake(() => replies.shift() ?? { fault: 'hang' });
});

after(async () => {
  await Promise.all(running.map((p) => p.signal('SIGKILL')));
  await Promise.all([sqs?.close(), s3?.close(), events?.close(), bedrock?.close(), new Promise((r) => dynamo?.close(r))]);
});

const db = () => new DynamoDBClient({ endpoint: dynamoUrl, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const queueUrl = (agent: string) => `${sqs.url}/123456789012/${agent}`;

async function container(definition: AgentDefinitionInput, extra: Record<string, string> = {}): Promise<ContainerProcess> {
  const agent = defineAgent(definition);
  const process = await startContainerProcess(ENTRY, {
    ...loopbackAwsEnvironment({ bedrock: bedrock.url, s3: s3.url, eventBridge: events.url, dynamoDb: dynamoUrl, sqs: sqs.url, secretsManager: 'http://127.0.0.1:9', anthropic: 'http://127.0.0.1:9' }),
    [AGENT_CONFIG_ENV]: encodeAgentConfig({ definition: agent, route: [{ provider: 'bedrock', model: 'research-model' }], prices: {} }),
    [RUNTIME_ENV.stateTable]: TABLE,
    [RUNTIME_ENV.bus]: 'agents',
    // Short long polls, so a stopping container is not held up by one.
    [CONTAINER_ENV.queueWaitSeconds]: '1',
    ...extra,
  });
  running.push(process);
  return process;
}

const researcher = (placement: 'agentcore' | 'container') =>
  agentInput({ name: 'researcher', description: 'Researches questions at length.', placement, triggers: [{ type: placement === 'agentcore' ? 'api' : 'queue' }], limits: { timeoutSeconds: 600 } });

const jobs = () => new DynamoJobStore(TABLE, 'researcher', db());

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the container entry on AWS, as a plain Node process', () => {
  it('serves AgentCore Runtime\'s contract: GET /ping, POST /invocations through the same checks as the API, and nothing else', async () => {
    const host = await container(researcher('agentcore'));
    const ping = await fetch(`${host.url}/ping`);
    assert.equal(ping.status, 200);
    assert.equal(((await ping.json()) as { status: string }).status, 'Healthy');

    replies.push({ text: 'Three sources agree.' });
    const answered = await fetch(`${host.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'What do the sources say?' }) });
    assert.equal(answered.status, 200);
    const body = (await answered.json()) as { output: string; stopReason: string };
    assert.deepEqual([body.output, body.stopReason], ['Three sources agree.', 'end_turn']);
    const sent = bedrock.requests.at(-1)!.body as { messages: { content: { text: string }[] }[] };
    assert.equal(sent.messages[0]!.content[0]!.text, 'What do the sources say?');

    const notJson = await fetch(`${host.url}/invocations`, { method: 'POST', body: '{"input":' });
    assert.deepEqual([notJson.status, ((await notJson.json()) as { message: string }).message], [400, 'the request body is not JSON']);
    const invalid = await fetch(`${host.url}/invocations`, { method: 'POST', body: JSON.stringify({ prompt: 'wrong field' }) });
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as { message: string }).message, 'invalid request body');
    assert.equal((await fetch(`${host.url}/invocations`)).status, 405);
    assert.equal((await fetch(`${host.url}/admin`)).status, 404);
    assert.equal(await host.signal('SIGTERM'), 0);
  });

  it('consumes a queued job, records it succeeded and deletes its message', async () => {
    const host = await container(researcher('container'), { [RUNTIME_ENV.queueUrl]: queueUrl('researcher'), [RUNTIME_ENV.queueMaxReceives]: '3', [CONTAINER_ENV.concurrency]: '2' });
    // A container agent answers no invocations: its work comes from its queue.
    assert.equal((await fetch(`${host.url}/invocations`, { method: 'POST', body: '{"input":"x"}' })).status, 404);
    replies.push({ text: 'The report is ready.' });
    const message = sqs.push(queueUrl('researcher'), JSON.stringify({ input: 'Write the report.' }), { jobId: 'job-report', agent: 'researcher', caller: 'tester' });
    await until(() => message.deleted, 'the job message to be deleted');
    const record = (await jobs().get('job-report'))!;
    assert.deepEqual([record.status, record.output, record.deliveries], ['succeeded', 'The report is ready.', 1]);
    assert.equal(message.receives, 1);
    assert.equal(await host.signal('SIGTERM'), 0);
  });

  it('hands a job back to the queue when stopped in the middle of it, and another container finishes it: nothing lost, nothing twice', async () => {
    const options = { [RUNTIME_ENV.queueUrl]: queueUrl('researcher'), [RUNTIME_ENV.queueMaxReceives]: '3', [CONTAINER_ENV.graceSeconds]: '1' };
    const first = await container(researcher('container'), options);
    const asked = bedrock.requests.length;
    // No reply scripted: the model call hangs, so the job is under way when the container stops.
    const message = sqs.push(queueUrl('researcher'), JSON.stringify({ input: 'Survey the field.' }), { jobId: 'job-survey', agent: 'researcher', caller: 'tester' });
    await until(() => bedrock.requests.length > asked, 'the run to call the model').catch((e) => assert.fail(`${e.message}: ${JSON.stringify(first.lines)}`));
    assert.equal(((await (await fetch(`${first.url}/ping`)).json()) as { status: string }).status, 'HealthyBusy');
    assert.equal(await first.signal('SIGTERM'), 0);
    assert.ok(first.lines.some((l) => l.message === 'message handed back to the queue' && l.messageId === message.messageId), JSON.stringify(first.lines));

    // The original is gone; a fresh copy (body and attributes) waits, not counted against the job.
    assert.equal(message.deleted, true);
    const copies = sqs.messages.filter((m) => m !== message && m.body === message.body);
    assert.equal(copies.length, 1);
    const copy = copies[0]!;
    assert.deepEqual([copy.deleted, copy.receives, copy.attributes.jobId?.StringValue], [false, 0, 'job-survey']);
    const waiting = (await jobs().get('job-survey'))!;
    assert.equal(waiting.status, 'queued');
    assert.match(waiting.error!, /the host stopped before the run ended/);

    replies.push({ text: 'The survey is done.' });
    const second = await container(researcher('container'), options);
    await until(() => copy.deleted, 'the handed-back job to be finished');
    const done = (await jobs().get('job-survey'))!;
    assert.deepEqual([done.status, done.output, done.deliveries], ['succeeded', 'The survey is done.', 2]);
    assert.equal(sqs.messages.filter((m) => m.body === message.body && !m.deleted).length, 0);
    assert.equal(await second.signal('SIGTERM'), 0);
  });

  it('leaves a message whose run fails on its last receive to the dead-letter queue, its job saying so, and deletes a malformed job as failed', async () => {
    const host = await container(researcher('container'), { [RUNTIME_ENV.queueUrl]: queueUrl('researcher'), [RUNTIME_ENV.queueMaxReceives]: '1', [CONTAINER_ENV.concurrency]: '2' });
    // Every model attempt of this run is refused as overloaded.
    replies.push({ status: 529 }, { status: 529 }, { status: 529 });
    const failing = sqs.push(queueUrl('researcher'), JSON.stringify({ input: 'Survey again.' }), { jobId: 'job-down', agent: 'researcher', caller: 'tester' });
    const malformed = sqs.push(queueUrl('researcher'), JSON.stringify({ prompt: 'wrong field' }), { jobId: 'job-bad', agent: 'researcher', caller: 'tester' });
    await until(async () => (await jobs().get('job-down'))?.status === 'dead_lettered', 'the failing job to be recorded dead-lettered');
    await until(() => malformed.deleted, 'the malformed job to be done with');
    assert.equal(await host.signal('SIGTERM'), 0);
    // Not deleted: hidden for its visibility timeout, after which SQS moves it to the dead-letter queue.
    assert.deepEqual([failing.deleted, failing.receives], [false, 1]);
    const bad = (await jobs().get('job-bad'))!;
    assert.equal(bad.status, 'failed');
    assert.match(bad.error!, /the job's body is invalid/);
  });
});
