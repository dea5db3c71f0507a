import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { AGENT_CONFIG_ENV, encodeAgentConfig } from '../../contract/config/runtime-config';
import { RUNTIME_ENV } from '../../contract/config/settings';
import { defineAgent, type AgentDefinitionInput } from '../../contract/definition';
import { STATE_KEYS } from '../../contract/state/table';
import { DynamoJobStore, DynamoTaskInbox } from '../../functions/aws/adapters';
import { startLambdaFake, type LambdaFake } from '../__fixtures__/aws-fakes';
import { durableDefinition } from '../__fixtures__/durable-agent';
import { startLambdaWorker, type LambdaWorker } from '../__fixtures__/lambda-workers';

/**
 * A durable agent's Lambda entry point in a process of its own, with the environment AgentFunction
 * gives it: as the starter of its queue, and serving its approvals and cancel routes. The Lambda API
 * is a loopback fake that records what the real SDK client sent; state is in DynamoDB (dynalite).
 */
const TABLE = 'agent-state';
const ALIAS = 'arn:aws:lambda:eu-west-1:123456789012:function:helper-fn:live';
let dynamo: ReturnType<typeof dynalite>;
let db: DynamoDBClient;
let lambda: LambdaFake;
let env: Record<string, string>;
const workers: LambdaWorker[] = [];

before(async () => {
  dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  const dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  db = new DynamoDBClient({ endpoint: dynamoUrl, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await db.send(new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  lambda = await startLambdaFake({ 'helper-fn': async () => null });
  const { version: _v, promptVersion: _p, ...spec } = durableDefinition('http://127.0.0.1:9');
  const definition = defineAgent({ ...(spec as unknown as AgentDefinitionInput), triggers: [{ type: 'job' }] });
  env = {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    [AGENT_CONFIG_ENV]: encodeAgentConfig({ definition, route: [{ provider: 'bedrock', model: 'm' }] }),
    [RUNTIME_ENV.stateTable]: TABLE,
    [RUNTIME_ENV.queueMaxReceives]: '3',
  };
});
after(() => {
  for (const w of workers) w.stop();
  lambda?.close();
  db?.destroy();
  dynamo?.close();
});

const worker = async (extra: Record<string, string> = {}) => {
  const w = await startLambdaWorker({ ...env, ...extra });
  workers.push(w);
  return w;
};

const jobMessage = (jobId: string, messageId: string, receives = 1) => ({
  Records: [
    {
      messageId,
      receiptHandle: 'rh',
      body: JSON.stringify({ input: 'Refund ord_12345678.' }),
      attributes: { ApproximateReceiveCount: String(receives) },
      messageAttributes: { jobId: { stringValue: jobId, dataType: 'String' }, agent: { stringValue: 'helper', dataType: 'String' } },
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:helper',
      awsRegion: 'eu-west-1',
    },
  ],
});

const route = (route: 'approvals' | 'cancel', jobId: string, caller: string, body: unknown = {}, roles = '') => ({
  kind: 'invocation',
  route,
  agent: 'helper',
  path: `/v1/agents/helper/jobs/${jobId}/${route}`,
  requestId: `req-${route}-${jobId}`,
  requestTimeEpoch: Date.now(),
  caller,
  roles,
  jobId,
  body,
});

const jobs = () => new DynamoJobStore(TABLE, 'helper', db);
const handles = () => new DynamoTaskInbox(TABLE, db, STATE_KEYS.durable);

describe('a durable agent on Lambda, its entry point against the Lambda API', () => {
  it('starts one execution of the alias per queued run, named after the job id and invoked asynchronously; a redelivery starts it under the same name', async () => {
    const starter = await worker({ [RUNTIME_ENV.durableTarget]: ALIAS });
    const first = (await starter.invoke(jobMessage('job-start-1', 'm-1'))) as { batchItemFailures: unknown[] };
    assert.deepEqual(first.batchItemFailures, []);
    await starter.invoke(jobMessage('job-start-1', 'm-2'));
    const starts = lambda.invocations.filter((i) => i.durableExecutionName === 'job-start-1');
    assert.equal(starts.length, 2);
    for (const s of starts) assert.deepEqual([s.functionName, s.qualifier, s.invocationType], ['helper-fn', 'live', 'Event']);
    assert.deepEqual(starts[0]!.payload, starts[1]!.payload, 'the same payload under the same name: Lambda returns the execution already started');
    assert.deepEqual((starts[0]!.payload as { durableStart: { run: { runId: string; trigger: string } } }).durableStart.run.runId, 'job-start-1');
  });

  it('leaves a message whose start keeps failing to the dead-letter queue, its job recorded dead-lettered on the last receive', async () => {
    const starter = await worker({ [RUNTIME_ENV.durableTarget]: 'arn:aws:lambda:eu-west-1:123456789012:function:missing-fn:live', [RUNTIME_ENV.stateTable]: TABLE });
    const early = (await starter.invoke(jobMessage('job-unstartable', 'm-u1', 1))) as { batchItemFailures: { itemIdentifier: string }[] };
    assert.deepEqual(early.batchItemFailures, [{ itemIdentifier: 'm-u1' }]);
    assert.equal(await jobs().get('job-unstartable'), undefined, 'not yet: SQS delivers it again');
    const last = (await starter.invoke(jobMessage('job-unstartable', 'm-u1', 3))) as { batchItemFailures: { itemIdentifier: string }[] };
    assert.deepEqual(last.batchItemFailures, [{ itemIdentifier: 'm-u1' }]);
    const record = (await jobs().get('job-unstartable'))!;
    assert.equal(record.status, 'dead_lettered');
    assert.match(record.error!, /could not be started in 3 deliveries: Function not found/);
  });

  it("completes the callback the run waits on with the approver's decision, and refuses a caller who is not an approver", async () => {
    // The starter serves the route; the agent itself, which other agents may invoke, refuses it.
    const itself = (await (await worker()).invoke(route('approvals', 'job-appr', 'arn:aws:sts::123456789012:assumed-role/finance-lead/ana', { decision: 'approve' }))) as { statusCode: number };
    assert.equal(itself.statusCode, 404);
    const agent = await worker({ [RUNTIME_ENV.durableTarget]: ALIAS });
    await jobs().put({ jobId: 'job-appr', agent: 'helper', status: 'waiting_for_approval', updatedAt: new Date().toISOString(), waiting: { reason: 'approval', step: 1, callId: 'call_1_0', tool: 'issue_refund', input: { orderId: 'o' }, approvers: ['role:finance-lead'], expiresAt: '2026-12-02T00:00:00Z' } });
    await handles().put('helper', 'job-appr/engine/callback-call_1_0', 'cb-123');
    const refused = (await agent.invoke(route('approvals', 'job-appr', 'arn:aws:iam::123456789012:user/mallory', { decision: 'approve' }))) as { statusCode: number; body: string };
    assert.equal(refused.statusCode, 403);
    assert.equal(lambda.callbacks.length, 0);
    const answer = (await agent.invoke(route('approvals', 'job-appr', 'arn:aws:sts::123456789012:assumed-role/finance-lead/ana', { decision: 'approve', reason: 'checked the order' }))) as { statusCode: number; body: string };
    assert.equal(answer.statusCode, 202, answer.body);
    assert.equal(lambda.callbacks.length, 1);
    assert.equal(lambda.callbacks[0]!.callbackId, 'cb-123');
    const decision = (typeof lambda.callbacks[0]!.result === 'string' ? JSON.parse(lambda.callbacks[0]!.result) : lambda.callbacks[0]!.result) as { decision: string; by: string; reason: string };
    assert.deepEqual([decision.decision, decision.by, decision.reason], ['approved', 'arn:aws:sts::123456789012:assumed-role/finance-lead/ana', 'checked the order']);
  });

  it('stops the execution of a cancelled run and records who cancelled it', async () => {
    const agent = await worker({ [RUNTIME_ENV.durableTarget]: ALIAS });
    await jobs().put({ jobId: 'job-cancel', agent: 'helper', status: 'running', updatedAt: new Date().toISOString() });
    const execution = 'arn:aws:lambda:eu-west-1:123456789012:function:helper-fn:3/durable-execution/job-cancel/abc';
    await handles().put('helper', 'job-cancel/engine/execution', execution);
    const answer = (await agent.invoke(route('cancel', 'job-cancel', 'arn:aws:iam::123456789012:user/ana'))) as { statusCode: number; body: string };
    assert.equal(answer.statusCode, 202, answer.body);
    assert.deepEqual(lambda.stopped.map((s) => s.executionArn), [execution]);
    const record = (await jobs().get('job-cancel'))!;
    assert.deepEqual([record.status, record.error], ['cancelled', 'cancelled by arn:aws:iam::123456789012:user/ana']);
    const again = (await agent.invoke(route('cancel', 'job-cancel', 'arn:aws:iam::123456789012:user/ana'))) as { statusCode: number };
    assert.equal(again.statusCode, 409);
  });
});
