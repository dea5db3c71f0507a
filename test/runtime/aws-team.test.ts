import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { TASK_MESSAGE_LIMIT, type AgentTask } from '../../contract/chain/envelope';
import { AGENT_CONFIG_ENV, encodeAgentConfig } from '../../contract/config/runtime-config';
import { RUNTIME_ENV } from '../../contract/config/settings';
import { AgentTeamGraph } from '../../contract/chain/team';
import type { JobRecord } from '../../contract/jobs/job-record';
import { DynamoJobStore, S3AuditReader } from '../../functions/aws/adapters';
import { chainOf, readChain, type RunRecord } from '../../functions/core/audit/records';
import { S3Client } from '@aws-sdk/client-s3';
import { loopbackAwsEnvironment, startEventBridgeFake, startLambdaFake, startS3Fake, type EventBridgeFake, type LambdaFake, type S3Fake } from '../__fixtures__/aws-fakes';
import { startLambdaWorker, type LambdaWorker } from '../__fixtures__/lambda-workers';
import { startBedrockFake, type FakeTurn, type ModelFake } from '../__fixtures__/model-fakes';
import { teamDefinitions } from '../__fixtures__/team';

/**
 * Three agents as deployed on AWS, each its real handler in a process of its own with the
 * environment AgentFunction gives it: calls go through the Lambda Invoke API, hand-offs through
 * EventBridge PutEvents and a queue delivery, state in DynamoDB (dynalite), audit in S3; each agent
 * has its own Bedrock (a loopback fake scripted per test).
 */
const TABLE = 'agent-state';
const BUCKET = 'audit';
const large = 'x'.repeat(TASK_MESSAGE_LIMIT + 10_000);

let dynamo: ReturnType<typeof dynalite>;
let dynamoUrl: string;
let events: EventBridgeFake;
let lambda: LambdaFake;
let s3: S3Fake;
const workers: Record<string, LambdaWorker> = {};
const models: Record<string, ModelFake> = {};
/** Each agent's next model turns, shared with its Bedrock fake. */
const scripts: Record<string, FakeTurn[]> = { triage: [], billing: [], technical: [] };

before(async () => {
  dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  const db = new DynamoDBClient({ endpoint: dynamoUrl, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await db.send(new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  events = await startEventBridgeFake();
  s3 = await startS3Fake();
  lambda = await startLambdaFake({ 'billing-fn': (payload) => workers.billing!.invoke(payload) });
  // technical may hand back to triage, so a loop between the two can be tried; every turn costs
  // 1000 USD per million tokens (a scripted turn of 10 in and 5 out costs 0.015), so the budget
  // test can spend the chain's budget in a few turns.
  const definitions = teamDefinitions({
    triage: {
      limits: { budgetUsd: 0.25 },
      tools: [
        { name: 'ask_billing', kind: 'agent', agent: 'billing', description: 'Ask the billing specialist.' },
        { name: 'review', kind: 'agent', agent: 'billing', mode: 'job', description: 'Have billing review a customer.' },
      ],
    },
    technical: { handoffs: ['triage'] },
  });
  const graph = new AgentTeamGraph(definitions);
  for (const definition of definitions) {
    const name = definition.name;
    models[name] = await startBedrockFake((_body, index) => scripts[name]![0] ? scripts[name]!.shift()! : { status: 500, body: { message: `no scripted turn ${index}` } });
    const model = `${name}-model`;
    const config = { definition, route: [{ provider: 'bedrock' as const, model }], prices: { [model]: { inputPerMTok: 1000, outputPerMTok: 1000 } }, callers: graph.callersOf(name) };
    workers[name] = await startLambdaWorker({
      ...loopbackAwsEnvironment({ bedrock: models[name]!.url, s3: s3.url, eventBridge: events.url, dynamoDb: dynamoUrl, sqs: 'http://127.0.0.1:9', secretsManager: 'http://127.0.0.1:9', anthropic: 'http://127.0.0.1:9' }),
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
      AWS_LAMBDA_FUNCTION_NAME: `${name}-fn`,
      [AGENT_CONFIG_ENV]: encodeAgentConfig(config),
      [RUNTIME_ENV.stateTable]: TABLE,
      [RUNTIME_ENV.bus]: 'agents',
      [RUNTIME_ENV.auditBucket]: BUCKET,
      [RUNTIME_ENV.queueMaxReceives]: '3',
      // As AgentFunction sets it: for an agent with tasks to send, the functions it calls.
      ...(graph.from(name).length && { [RUNTIME_ENV.peers]: JSON.stringify(name === 'triage' ? { billing: { function: 'billing-fn' } } : {}) }),
    });
  }
});

after(async () => {
  for (const worker of Object.values(workers)) worker.stop();
  await Promise.all([events?.close(), lambda?.close(), s3?.close(), ...Object.values(models).map((m) => m.close()), new Promise((r) => dynamo?.close(r))]);
});

const invocation = (agent: string, input: string) => ({
  kind: 'invocation',
  route: 'invocations',
  agent,
  path: `/v1/agents/${agent}/invocations`,
  requestId: `req-${randomUUID()}`,
  requestTimeEpoch: Date.now(),
  caller: 'arn:aws:iam::123456789012:user/tester',
  body: { input },
});

/** The SQS batch a bus rule's delivery of `entry` to its target's queue hands the function. */
const queued = (entry: EventBridgeFake['entries'][number], receives = 1, messageId: string = randomUUID()) => ({
  Records: [
    {
      messageId,
      receiptHandle: 'r',
      body: JSON.stringify({ version: '0', id: randomUUID(), 'detail-type': entry.DetailType, source: entry.Source, account: '123456789012', time: new Date().toISOString(), region: 'eu-west-1', resources: [], detail: entry.Detail }),
      attributes: { ApproximateReceiveCount: String(receives), SentTimestamp: String(Date.now()), SenderId: 'events', ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:technical',
      awsRegion: 'eu-west-1',
    },
  ],
});

const job = (agent: string, runId: string): Promise<JobRecord | undefined> =>
  new DynamoJobStore(TABLE, agent, new DynamoDBClient({ endpoint: dynamoUrl, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })).get(runId);

const s3Client = () => new S3Client({ endpoint: s3.url, forcePathStyle: true, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** Every run record of the attempts' objects (not the chain index). */
const auditRuns = (): RunRecord[] =>
  [...s3.objects.entries()]
    .filter(([key]) => key.startsWith(`${BUCKET}/`) && key.endsWith('.jsonl'))
    .flatMap(([, body]) => body.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as RunRecord))
    .filter((r) => r.type === 'run');

describe('a team of agents on AWS, each in its own function', () => {
  it('calls billing through Lambda, hands off to technical over the bus, and audits one chain under one trace', async () => {
    scripts.triage!.push({ toolUses: [{ name: 'ask_billing', input: { task: 'Was ord_12345678 charged twice?' } }] }, { toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'The app crashes on login.' } }] }, { text: 'Billing will refund one charge; technical has your login problem.' });
    scripts.billing!.push({ text: 'Two charges of 49 EUR; one is refunded.' });
    scripts.technical!.push({ text: 'Update the app to 4.3; the crash is fixed there.' });
    const answer = (await workers.triage!.invoke(invocation('triage', 'Charged twice, and the app crashes.'))) as { statusCode: number; body: string };
    const body = JSON.parse(answer.body) as { runId: string; output: string; correlationId: string; children: { agent: string; kind: string; status: string; runId: string }[] };
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(body.children.map((c) => [c.agent, c.kind, c.status]), [['billing', 'call', 'succeeded'], ['technical', 'handoff', 'queued']]);
    assert.deepEqual(lambda.invocations.map((i) => [i.functionName, (i.payload as { agentTask: AgentTask }).agentTask.kind]), [['billing-fn', 'call']]);

    const handoff = events.entries.find((e) => e.DetailType === 'handoff.to.technical')!;
    assert.equal((handoff.Detail as AgentTask).chain.correlationId, body.runId);
    const delivered = (await workers.technical!.invoke(queued(handoff))) as { batchItemFailures: unknown[] };
    assert.deepEqual(delivered.batchItemFailures, []);
    const record = (await job('technical', body.children[1]!.runId))!;
    assert.deepEqual([record.status, record.output, record.chain?.parentAgent, record.chain?.hop], ['succeeded', 'Update the app to 4.3; the crash is fixed there.', 'triage', 1]);

    const chain = await readChain(new S3AuditReader(BUCKET, s3Client()), ['triage', 'billing', 'technical'], body.runId);
    assert.deepEqual(chain.map((r) => [r.agent, r.trigger]), [['triage', 'api'], ['billing', 'call'], ['technical', 'handoff']]);
    assert.deepEqual(chainOf(auditRuns(), body.runId), chain, 'the chain index holds the same run records as the attempts');
    assert.equal(new Set(chain.map((r) => r.traceId)).size, 1, 'one trace across the three functions');
    assert.ok(events.entries.some((e) => e.DetailType === 'run.completed' && (e.Detail as { chain?: { correlationId: string } }).chain?.correlationId === body.runId));
  });

  it('runs a hand-off delivered twice once, and carries an input too large for a message by reference, whole', async () => {
    scripts.triage!.push({ toolUses: [{ name: 'handoff', input: { agent: 'technical', input: large } }] }, { text: 'Handed over.' });
    scripts.technical!.push({ text: 'Read it all.' });
    const before = events.entries.length;
    const answer = (await workers.triage!.invoke(invocation('triage', 'Here is my whole log.'))) as { statusCode: number; body: string };
    assert.equal(answer.statusCode, 200, answer.body);
    const handoff = events.entries.slice(before).find((e) => e.DetailType === 'handoff.to.technical')!;
    const task = handoff.Detail as AgentTask;
    assert.equal(task.input, undefined);
    assert.equal(task.inputRef, task.runId);
    assert.ok(JSON.stringify(handoff.Detail).length < TASK_MESSAGE_LIMIT);

    const calls = models.technical!.requests.length;
    await workers.technical!.invoke(queued(handoff, 1, 'first'));
    await workers.technical!.invoke(queued(handoff, 1, 'duplicate'));
    assert.equal(models.technical!.requests.length, calls + 1, 'the duplicate ran nothing');
    const prompt = JSON.stringify(models.technical!.requests.at(-1)!.body);
    assert.ok(prompt.includes(large), 'the model got the whole input, not a cut one');
    assert.equal((await job('technical', task.runId))!.status, 'succeeded');
  });

  it('reports a specialist that fails to the orchestrator as a tool error, and the orchestrator still answers', async () => {
    scripts.triage!.push({ toolUses: [{ name: 'ask_billing', input: { task: 'Refund ord_87654321.' } }] }, { text: 'Billing is unavailable; a person will follow up.' });
    // billing's model refuses the request: a failure no retry fixes.
    scripts.billing!.push({ status: 400, body: { message: 'malformed' } } as unknown as FakeTurn);
    const answer = (await workers.triage!.invoke(invocation('triage', 'Refund please.'))) as { statusCode: number; body: string };
    assert.equal(answer.statusCode, 200, answer.body);
    const body = JSON.parse(answer.body) as { output: string; children: { agent: string; status: string }[] };
    assert.equal(body.output, 'Billing is unavailable; a person will follow up.');
    assert.deepEqual(body.children.map((c) => [c.agent, c.status]), [['billing', 'failed']]);
    const toolResult = JSON.stringify(models.triage!.requests.at(-1)!.body);
    assert.match(toolResult, /agent \\"billing\\" did not answer: a model refused the request/);
  });

  it('stops two agents handing a conversation back and forth, and announces it over the bus', async () => {
    scripts.triage!.push({ toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'Yours.' } }] }, { text: 'Passed.' });
    const answer = (await workers.triage!.invoke(invocation('triage', 'Whose is it?'))) as { body: string };
    const root = (JSON.parse(answer.body) as { runId: string }).runId;
    const first = events.entries.filter((e) => e.DetailType === 'handoff.to.technical').at(-1)!;
    scripts.technical!.push({ toolUses: [{ name: 'handoff', input: { agent: 'triage', input: 'Not mine.' } }] }, { text: 'Passed back.' });
    await workers.technical!.invoke(queued(first));
    const back = events.entries.filter((e) => e.DetailType === 'handoff.to.triage').at(-1)!;
    assert.equal((back.Detail as AgentTask).chain.hop, 2);
    scripts.triage!.push({ toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'Yours again.' } }] }, { text: 'Could not pass it on.' });
    await workers.triage!.invoke(queued(back));
    const refused = events.entries.filter((e) => e.DetailType === 'handoff.refused').at(-1)!;
    const detail = refused.Detail as { agent: string; refused: { reason: string; message: string; to: string }; chain: { correlationId: string } };
    assert.deepEqual([detail.agent, detail.refused.to, detail.refused.reason, detail.chain.correlationId], ['triage', 'technical', 'loop', root]);
    assert.match(detail.refused.message, /triage → technical → triage/);
    assert.equal(events.entries.filter((e) => e.DetailType === 'handoff.to.technical' && (e.Detail as AgentTask).chain.correlationId === root).length, 1, 'the third hop never went out');
  });

  it('refuses a task past its hop limit at the receiver: recorded failed once, handoff.refused, nothing run', async () => {
    const first = events.entries.find((e) => e.DetailType === 'handoff.to.technical')!;
    const task = first.Detail as AgentTask;
    const tooFar = { ...task, runId: 'task-too-far', chain: { ...task.chain, hop: 6, maxHops: 9, path: ['triage', 'billing', 'triage', 'billing', 'triage', 'triage'] } };
    const calls = models.technical!.requests.length;
    const entry = { ...first, Detail: tooFar };
    const result = (await workers.technical!.invoke(queued(entry))) as { batchItemFailures: unknown[] };
    assert.deepEqual(result.batchItemFailures, [], 'a refusal is final: the message is done with');
    await workers.technical!.invoke(queued(entry, 2));
    assert.equal(models.technical!.requests.length, calls, 'nothing ran');
    const record = (await job('technical', 'task-too-far'))!;
    assert.deepEqual([record.status, record.error], ['failed', 'refused: the chain has reached its limit of 5 hops']);
    const refusals = events.entries.filter((e) => e.DetailType === 'handoff.refused' && (e.Detail as { refused: { taskRunId: string } }).refused.taskRunId === 'task-too-far');
    assert.equal(refusals.length, 1, 'announced once, however often delivered');
    assert.equal((refusals[0]!.Detail as { refused: { reason: string } }).refused.reason, 'max_hops');
  });

  it('shares one budget along the chain: billing runs out of what triage left it, and the chain ends on cost_budget', async () => {
    // 100 tokens in and 5 out a turn: 0.105 USD; triage may spend 0.25 for the whole chain.
    const costly = { usage: { inputTokens: 100 } };
    scripts.triage!.push({ toolUses: [{ name: 'ask_billing', input: { task: 'Audit every invoice.' } }], ...costly }, { text: 'never reached', ...costly });
    scripts.billing!.push({ toolUses: [{ name: 'nothing', input: {} }], ...costly }, { toolUses: [{ name: 'nothing', input: {} }], ...costly }, { text: 'never reached', ...costly });
    const answer = (await workers.triage!.invoke(invocation('triage', 'Audit.'))) as { statusCode: number; body: string };
    const body = JSON.parse(answer.body) as { stopReason: string; message: string; runId: string };
    assert.equal(answer.statusCode, 422, answer.body);
    assert.equal(body.stopReason, 'cost_budget');
    const billingRuns = auditRuns().filter((r) => r.agent === 'billing' && r.correlationId === body.runId);
    assert.deepEqual(
      billingRuns.map((r) => [r.stopReason, Math.round(r.costUsd * 1000) / 1000]),
      [['cost_budget', 0.21]],
      'billing had 0.145 of the chain left, not its own 1 USD, and stopped after its second turn',
    );
    const triageRun = auditRuns().find((r) => r.runId === body.runId)!;
    assert.equal(Math.round((triageRun.costUsd + triageRun.delegatedCostUsd!) * 1000) / 1000, 0.315);
    scripts.triage!.length = 0;
    scripts.billing!.length = 0;
  });

  it('gives billing a job over the bus and waits for its result in the same run', async () => {
    scripts.triage!.push({ toolUses: [{ name: 'review', input: { task: 'Review every invoice of cus_123456.' } }] }, { text: 'The review found one wrong charge.' });
    scripts.billing!.push({ text: 'One wrong charge of 12 EUR in March.' });
    const seen = events.entries.length;
    // The bus rule and the queue, as a pump: each delegation event reaches billing's function.
    let pumping = true;
    const pump = (async () => {
      let next = seen;
      while (pumping) {
        const entry = events.entries.slice(next).find((e) => e.DetailType === 'delegation.to.billing');
        if (entry) {
          next = events.entries.indexOf(entry) + 1;
          await workers.billing!.invoke(queued(entry));
        } else await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const answer = (await workers.triage!.invoke(invocation('triage', 'Review cus_123456.'))) as { statusCode: number; body: string };
    pumping = false;
    await pump;
    assert.equal(answer.statusCode, 200, answer.body);
    const body = JSON.parse(answer.body) as { output: string; children: { agent: string; kind: string; status: string; runId: string }[] };
    assert.equal(body.output, 'The review found one wrong charge.');
    assert.deepEqual(body.children.map((c) => [c.agent, c.kind, c.status]), [['billing', 'job', 'succeeded']]);
    assert.match(JSON.stringify(models.triage!.requests.at(-1)!.body), /One wrong charge of 12 EUR in March\./);
    const record = (await job('billing', body.children[0]!.runId))!;
    assert.deepEqual([record.status, record.chain?.kind], ['succeeded', 'job']);
  });
  it('shows the hand-off on triage\'s job record as it ended, reported back over the bus into triage\'s queue', async () => {
    scripts.triage!.push({ toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'Printer offline on floor 3.' } }] }, { text: 'Passed to technical.' });
    scripts.technical!.push({ text: 'Printer restarted.' });
    const before = events.entries.length;
    const jobId = `job-${randomUUID()}`;
    // A job the API queued: its id in the message's attributes, the request as its body.
    const template = queued({ DetailType: 'none', Source: 'none', Detail: {} } as never).Records[0]!;
    const asJob = { Records: [{ ...template, body: JSON.stringify({ input: 'The printer is offline.' }), messageAttributes: { jobId: { stringValue: jobId, dataType: 'String' } } }] };
    assert.deepEqual(((await workers.triage!.invoke(asJob)) as { batchItemFailures: unknown[] }).batchItemFailures, []);
    assert.deepEqual((await job('triage', jobId))!.children!.map((c) => [c.agent, c.status]), [['technical', 'queued']]);
    const handoff = events.entries.slice(before).find((e) => e.DetailType === 'handoff.to.technical')!;
    await workers.technical!.invoke(queued(handoff));
    const report = events.entries.slice(before).find((e) => e.DetailType === 'result.to.triage')!;
    assert.deepEqual([(report.Detail as { status: string }).status, (report.Detail as { chain: { parentRunId: string } }).chain.parentRunId], ['succeeded', jobId]);
    // The rule delivers it to triage's queue (twice, as at-least-once may): kept once.
    for (const receives of [1, 2]) assert.deepEqual(((await workers.triage!.invoke(queued(report, receives))) as { batchItemFailures: unknown[] }).batchItemFailures, []);
    const record = (await job('triage', jobId))!;
    assert.deepEqual([record.status, record.children!.map((c) => [c.agent, c.kind, c.status])], ['succeeded', [['technical', 'handoff', 'succeeded']]]);
  });
});
