import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import dynalite from 'dynalite';
import type { AgentTask } from '../../contract/chain/envelope';
import { AgentTeamGraph } from '../../contract/chain/team';
import { defineAgent, type AgentDefinition } from '../../contract/definition';
import { awsDelegates, DynamoJobStore, DynamoTaskInbox, EventBridgeTaskSender, LambdaInvoker } from '../../functions/aws/adapters';
import type { AgentDelegates } from '../../functions/core/chain/chain';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { ZERO_USAGE, type ModelProvider, type ModelRequest, type ModelResponse } from '../../functions/core/models/types';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime, type Runtime } from '../../functions/entry/assemble';
import { deadlineFrom } from '../../functions/entry/outcome';
import { runTask } from '../../functions/entry/tasks';
import { LocalAgentTeam } from '../../functions/local/team';
import { startEventBridgeFake, startLambdaFake } from '../../test/__fixtures__/aws-fakes';
import { machine, median, writeSection } from '../report';

/**
 * What a hop costs: an orchestrator asks a specialist one question and answers with what it said,
 * both on models that answer at once, so the difference between ways of asking is the hop itself.
 * (a) the specialist's agent called in-process by a plain tool, nothing else; (b) the team's call
 * in one process (envelope, checks, job records in memory); (c) the AWS call as deployed, through
 * the real adapters: Lambda Invoke (a loopback fake running the specialist), job records in
 * DynamoDB (dynalite); (d) the AWS hand-off: EventBridge PutEvents (a loopback fake), the
 * specialist run as its queue would deliver it, job records in DynamoDB.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const QUESTION = 'Was order ord_12345678 charged twice? Check the charges and refund any duplicate.';

/** Asks once (a tool call or a hand-off), then answers: the same two turns whatever the hop. */
class InstantModel implements ModelProvider {
  readonly provider = 'bench';
  constructor(
    readonly model: string,
    private readonly first?: { name: string; input: unknown },
  ) {}
  async complete(request: ModelRequest): Promise<ModelResponse> {
    const usage = { ...ZERO_USAGE, inputTokens: 200, outputTokens: 30 };
    if (this.first && request.messages.length === 1) return { content: [{ type: 'tool_use', id: 't1', name: this.first.name, input: this.first.input }], stopReason: 'tool_use', usage, raw: {} };
    return { content: [{ type: 'text', text: 'Two charges of 49 EUR; the second is a duplicate and is refunded.' }], stopReason: 'end_turn', usage, raw: {} };
  }
}

const orchestrator = (tool: 'agent' | 'function' | 'handoff', fn = 'billing') =>
  defineAgent({
    name: 'triage',
    description: 'Routes support requests.',
    model: 'smart',
    instructions: 'Route.',
    ...(tool === 'handoff'
      ? { handoffs: ['billing'] }
      : { tools: [tool === 'agent' ? { name: 'ask_billing', kind: 'agent' as const, agent: 'billing', description: 'Ask billing.' } : { name: 'ask_billing', kind: 'function' as const, function: fn, description: 'Ask billing.', input: { type: 'object', required: ['task'], properties: { task: { type: 'string' } } } }] }),
  });
const billing = defineAgent({ name: 'billing', description: 'Answers billing questions.', model: 'smart', instructions: 'Answer.' });

async function runtime(definition: AgentDefinition, extra: Partial<Parameters<typeof assembleRuntime>[1]> = {}, callers: string[] = []): Promise<Runtime> {
  const model = new InstantModel(`${definition.name}-model`, definition.name === 'triage' ? (definition.handoffs.length ? { name: 'handoff', input: { agent: 'billing', input: QUESTION } } : { name: 'ask_billing', input: { task: QUESTION } }) : undefined);
  return assembleRuntime(
    { definition, route: [{ provider: 'bedrock', model: model.model }], ...(callers.length && { callers }) },
    { metrics: new MemoryMetrics(), secret: async () => '', providers: { bedrock: async () => model }, ...extra },
  );
}

async function main(): Promise<void> {
  const silence = console.log;
  console.log = () => {}; // the runtime's audit lines
  const dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  const aws = { region: 'eu-west-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const db = new DynamoDBClient({ endpoint, ...aws });
  await db.send(new CreateTableCommand({ TableName: 'state', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));

  // (a) a plain in-process tool that runs the specialist's agent and hands back its answer.
  const directBilling = await runtime(billing);
  let directBytes = 0;
  const direct = await runtime(orchestrator('function'), {
    functions: {
      invoke: async (_fn, payload) => {
        directBytes = Buffer.byteLength(JSON.stringify(payload));
        const result = await directBilling.agent.run({ runId: `direct-${Math.random()}`, input: (payload as { input: { task: string } }).input.task, trigger: 'call', deadline: Date.now() + 30_000 });
        return result.output;
      },
    },
  });

  // (b) the team's call in one process.
  const team = new LocalAgentTeam();
  const graph = new AgentTeamGraph([orchestrator('agent'), billing]);
  team.add(await runtime(billing, { jobs: new MemoryJobStore() }, graph.callersOf('billing')));
  const local = await runtime(orchestrator('agent'), { jobs: new MemoryJobStore(), delegates: team.delegates(), inbox: team.inbox });

  // (c) and (d): the AWS adapters, over loopback.
  const awsBilling = await runtime(billing, { jobs: new DynamoJobStore('state', 'billing', db), inbox: new DynamoTaskInbox('state', db) }, ['triage']);
  let callBytes = 0;
  const lambda = await startLambdaFake({
    billing: (payload) => ((callBytes = Buffer.byteLength(JSON.stringify(payload))), runTask(awsBilling, (payload as { agentTask: AgentTask }).agentTask, { deadline: deadlineFrom(60_000) })),
    // The plain function tool's target: the specialist's agent, and nothing around it.
    'billing-plain': async (payload) => (await directBilling.agent.run({ runId: `plain-${Math.random()}`, input: (payload as { input: { task: string } }).input.task, trigger: 'call', deadline: Date.now() + 30_000 })).output,
  });
  process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
  Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' });
  const bus = await startEventBridgeFake();
  const sender = new EventBridgeTaskSender('agents', new EventBridgeClient({ endpoint: bus.url, ...aws }));
  const inbox = new DynamoTaskInbox('state', db);
  const delegates: AgentDelegates = awsDelegates({ billing: { function: 'billing' } }, sender, 'state', inbox, new LambdaInvoker());
  const awsDirect = await runtime(orchestrator('function', 'billing-plain'), { functions: new LambdaInvoker() });
  const awsCall = await runtime(orchestrator('agent'), { jobs: new DynamoJobStore('state', 'triage', db), delegates, inbox });
  const awsHandoff = await runtime(orchestrator('handoff'), { jobs: new DynamoJobStore('state', 'triage', db), delegates, inbox });

  const variants: { name: string; run: (i: number) => Promise<void> }[] = [
    { name: 'direct', run: async (i) => void (await direct.agent.run({ runId: `d-${i}`, input: 'q', trigger: 'api', deadline: Date.now() + 30_000 })) },
    { name: 'local', run: async (i) => void (await local.agent.run({ runId: `l-${i}`, input: 'q', trigger: 'api', deadline: Date.now() + 30_000 })) },
    { name: 'awsDirect', run: async (i) => void (await awsDirect.agent.run({ runId: `p-${i}`, input: 'q', trigger: 'api', deadline: Date.now() + 30_000 })) },
    { name: 'awsCall', run: async (i) => void (await awsCall.agent.run({ runId: `c-${i}`, input: 'q', trigger: 'api', deadline: Date.now() + 30_000 })) },
    {
      name: 'awsHandoff',
      run: async (i) => {
        const before = bus.entries.length;
        await awsHandoff.agent.run({ runId: `h-${i}`, input: 'q', trigger: 'api', deadline: Date.now() + 30_000 });
        // As the queue delivers it: the event the rule forwarded, run to its end by the specialist.
        await runTask(awsBilling, bus.entries[before]!.Detail, { deadline: deadlineFrom(60_000) });
      },
    },
  ];
  const times: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let i = -20; i < RUNS; i++) {
    for (const v of variants) {
      const started = performance.now();
      await v.run(i);
      if (i >= 0) times[v.name]!.push(performance.now() - started);
    }
  }
  const handoffEvent = bus.entries.at(-1)!;
  const eventBytes = Buffer.byteLength(JSON.stringify({ Source: handoffEvent.Source, DetailType: handoffEvent.DetailType, Detail: JSON.stringify(handoffEvent.Detail), EventBusName: 'agents' }));
  console.log = silence;

  const base = median(times.direct!);
  const row = (label: string, name: string, bytes: number) => `| ${label} | ${median(times[name]!).toFixed(2)} | ${(median(times[name]!) - base).toFixed(2)} | ${bytes} |`;
  writeSection(
    'handoff',
    `## Multi-agent: the cost of a hop (\`npm run bench:handoff\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.

An orchestrator asks a specialist one question (${QUESTION.length} characters) and answers with what it said; both
agents' models answer at once, so what differs between the rows is the hop. ${RUNS} runs of each, interleaved
after 20 warm-up runs; medians. *Bytes* is what crosses between the agents for the question: the tool's
payload, the Invoke payload with the task and its envelope, or the PutEvents entry.

| how the orchestrator reaches the specialist | ms per run | hop overhead, ms | bytes per hop |
|---|---:|---:|---:|
${row('baseline: a plain in-process tool that runs the specialist', 'direct', directBytes)}
${row('team call in one process (envelope, checks, job records in memory)', 'local', callBytes)}
${row('a plain function tool through Lambda Invoke (loopback) that runs the specialist', 'awsDirect', directBytes)}
${row('AWS call: Lambda Invoke (loopback), job records in DynamoDB (dynalite)', 'awsCall', callBytes)}
${row('AWS hand-off: PutEvents (loopback), the queued run, job records in DynamoDB', 'awsHandoff', eventBytes)}

The envelope (correlation, causation, hop, limits, budget, deadline, tenant, trace, path) adds ${callBytes - directBytes} bytes
to the question. Over the same Lambda Invoke, a call costs ${(median(times.awsCall!) - median(times.awsDirect!)).toFixed(2)} ms more than a plain function tool: the
specialist's job record, read, claimed with a conditional write and settled (what makes a call delivered twice run
once), here in dynalite, an in-memory emulator slower than DynamoDB's single-digit milliseconds.

A hand-off's run also reports its end to its sender (\`result.to.SENDER\`, one more PutEvents, timed in its row).

In the cloud a hop adds the platform's own latency on top (a warm Lambda invoke is a few
milliseconds; EventBridge to SQS to Lambda typically tens to hundreds), which loopback fakes do not model.`,
  );
  await Promise.all([lambda.close(), bus.close(), new Promise((r) => dynamo.close(r))]);
  for (const r of [direct, directBilling, local, awsBilling, awsDirect, awsCall, awsHandoff]) await r.close();
  await team.close();
  console.log(JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]))));
}

void main();
