import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { HttpRequest, InvocationContext, output, type HttpResponseInit } from '@azure/functions';
import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { TASK_MESSAGE_LIMIT, type AgentTask } from '../../contract/chain/envelope';
import { AgentTeamGraph } from '../../contract/chain/team';
import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { secretSetting, type AzurePeers } from '../../contract/config/settings';
import { BlobAuditReader, BlobJobStore } from '../../functions/azure/blob-state';
import { AzureDelegates } from '../../functions/azure/delegates';
import { EventGridPublisher } from '../../functions/azure/eventgrid-publisher';
import { agentHandlers, type AgentHandlers } from '../../functions/azure/handlers';
import { buildAzureRuntime, type AzureClients } from '../../functions/azure/runtime';
import { readChain } from '../../functions/core/audit/records';
import { MemoryTaskInbox } from '../../functions/core/chain/inbox';
import { resetBreakers } from '../../functions/core/models/circuit-breaker';
import { startAzurite, type Azurite } from '../__fixtures__/azurite';
import { startLoopback, type LoopbackServer } from '../__fixtures__/loopback';
import { startAnthropicFake, type FakeReply, type ModelFake } from '../__fixtures__/model-fakes';
import { teamDefinitions } from '../__fixtures__/team';

/**
 * A team of agents on Azure, each with its real Functions handlers and runtime, wired as the
 * constructs wire them: triage calls billing through billing's task route (a loopback server
 * handing the request to billing's real `task` handler, after checking the Entra ID token an
 * identity stand-in issued), and gives jobs and hand-offs to billing and technical through the
 * real Event Grid client, whose loopback topic delivers each task event to its target's queue
 * handler as a Service Bus subscription would, again on failure, up to the queue's max delivery
 * count. Job records and inboxes are real blobs on Azurite, one account URL per agent. Each agent
 * has its own scripted model, behind the real Anthropic client.
 */

const AGENTS = ['triage', 'billing', 'technical'] as const;
type AgentName = (typeof AGENTS)[number];
const MAX_DELIVERIES = 3;
const BILLING_AUDIENCE = 'api://tenant/billing-app';

let azurite: Azurite;
let service: BlobServiceClient;
let anthropic: ModelFake;
let topic: LoopbackServer;
let billingRoute: LoopbackServer;
const handlers = {} as Record<AgentName, AgentHandlers>;

/** Each agent's model turns, in order, keyed by its model name. */
const scripts: Record<string, FakeReply[]> = {};
const script = (agent: AgentName, ...turns: FakeReply[]) => (scripts[`claude-${agent}`] = turns);
const modelRequests = (agent: AgentName) => anthropic.requests.filter((r) => (r.body as { model: string }).model === `claude-${agent}`);

/** What the identity stand-in was asked for, and the token it gives: one per scope, as Entra ID does. */
const scopesAsked: string[] = [];
const credential: TokenCredential = {
  getToken: async (scopes) => {
    const asked = [scopes].flat();
    scopesAsked.push(...asked);
    return { token: `token for ${asked.join(' ')}`, expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

/** Event Grid's deliveries of task events to the targets' queues, each settling as Service Bus leaves the message. */
const deliveries: Promise<'completed' | 'dead-lettered'>[] = [];
const pauses: number[] = [];
let invocations = 0;

const stateUrl = (agent: string) => `http://${agent}.state.invalid`;
const auditUrl = (agent: string) => `http://${agent}.audit.invalid`;
const container = (agent: string, name: string): ContainerClient => service.getContainerClient(`${agent}-${name}`);
const jobRecord = (agent: AgentName, runId: string) => new BlobJobStore(container(agent, 'jobs')).get(runId);

const context = (functionName: string, triggerMetadata?: Record<string, unknown>) =>
  new InvocationContext({ invocationId: `inv-${++invocations}`, functionName, ...(triggerMetadata && { triggerMetadata }) });
const request = (agent: string, route: string, body: string | object) =>
  new HttpRequest({ method: 'POST', url: `https://${agent}.azurewebsites.net/api/agents/${agent}/${route}`, body: { string: typeof body === 'string' ? body : JSON.stringify(body) }, params: { name: agent } });
const bodyOf = (response: HttpResponseInit) => response.jsonBody as Record<string, any>;

interface PublishedEvent {
  id: string;
  eventType: string;
  subject: string;
  dataVersion: string;
  data: any;
}
const published = () => topic.requests.flatMap((r) => r.body as PublishedEvent[]);
const taskEvents = () => published().filter((e) => /^(handoff|delegation)\.to\./.test(e.eventType));

/**
 * A task event as the target's Service Bus queue holds it, delivered to the target's queue
 * handler until it completes, or until its last delivery fails and Service Bus dead-letters it.
 */
async function deliver(event: PublishedEvent, messageId = `sb-${event.id}`): Promise<'completed' | 'dead-lettered'> {
  const target = event.eventType.replace(/^(handoff|delegation|result)\.to\./, '') as AgentName;
  // Event Grid adds the topic and metadata version; the message body is the event as JSON.
  const body = JSON.stringify({ ...event, topic: '/subscriptions/s/resourceGroups/agents/providers/Microsoft.EventGrid/topics/agents', metadataVersion: '1' });
  for (let deliveryCount = 1; deliveryCount <= MAX_DELIVERIES; deliveryCount++) {
    try {
      await handlers[target].queueMessage(body, context('queue', { deliveryCount, messageId }));
      return 'completed';
    } catch {
      // Abandoned: Service Bus delivers it again.
    }
  }
  return 'dead-lettered';
}

/** Runs triage over its invoke route, then waits for every task it sent to be delivered. */
async function runTriage(input: string): Promise<Record<string, any>> {
  const response = await handlers.triage.invoke(request('triage', 'invocations', { input }), context('invoke'));
  assert.equal(response.status, 200, JSON.stringify(response.jsonBody));
  return bodyOf(response);
}
const settled = () => Promise.all(deliveries.splice(0));
/** Event Grid's deliveries of the reports of tasks' ends to their senders' queues. */
const reports: Promise<'completed' | 'dead-lettered'>[] = [];
const reported = () => Promise.all(reports.splice(0));

/** The tool result triage's model was shown after its first turn. */
function toolResultShownToTriage(): { content: string; is_error?: boolean } {
  const second = modelRequests('triage').at(-1)!.body as { messages: { role: string; content: any }[] };
  const block = second.messages[2]!.content[0] as { type: string; content: string | { text: string }[]; is_error?: boolean };
  assert.equal(block.type, 'tool_result');
  const content = typeof block.content === 'string' ? block.content : block.content.map((c) => c.text).join('');
  return { content, ...(block.is_error !== undefined && { is_error: block.is_error }) };
}

// Each run's metrics and audit records are logged too, whole; the tests read them from storage.
const log = console.log;

before(async () => {
  console.log = () => {};
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  for (const agent of AGENTS) for (const name of ['jobs', 'inbox', 'audit']) await container(agent, name).create();
  anthropic = await startAnthropicFake((body) => {
    const model = (body as { model: string }).model;
    const next = scripts[model]?.shift();
    if (!next) throw new Error(`no scripted turn left for ${model}`);
    return next;
  });
  process.env.ANTHROPIC_BASE_URL = anthropic.url;
  topic = await startLoopback((recorded) => {
    // Each subscription of the team delivers the task events of its target to the target's queue.
    for (const event of recorded.body as PublishedEvent[]) {
      const into = /^(handoff|delegation)\.to\./.test(event.eventType) ? deliveries : /^result\.to\./.test(event.eventType) ? reports : undefined;
      into?.push(new Promise((resolve) => setImmediate(() => resolve(deliver(event)))));
    }
    return { status: 200, body: '' };
  });
  // Billing's app: App Service authentication lets in only a token for its audience, then its task function answers.
  billingRoute = await startLoopback(async (recorded) => {
    if (recorded.headers.authorization !== `Bearer token for ${BILLING_AUDIENCE}/.default`) return { status: 401, body: '' };
    const name = recorded.path.split('/')[3]!;
    const http = new HttpRequest({ method: 'POST', url: `https://billing.azurewebsites.net${recorded.path}`, body: { string: JSON.stringify(recorded.body) }, params: { name } });
    const response = await handlers.billing.task(http, context('task'));
    return { status: response.status ?? 200, body: response.jsonBody };
  });

  // technical may hand back to triage, so a loop between the two can be tried; triage's chain may
  // spend 0.25 USD, at 1000 USD per million tokens (a scripted turn of 10 in and 5 out: 0.015).
  const definitions = teamDefinitions({
    technical: { handoffs: ['triage'] },
    triage: {
      limits: { budgetUsd: 0.25 },
      tools: [
        { name: 'ask_billing', kind: 'agent', agent: 'billing', description: 'Ask the billing specialist.' },
        { name: 'billing_review', kind: 'agent', agent: 'billing', mode: 'job', description: 'Have billing review every order of a customer.' },
      ],
    },
  });
  const graph = new AgentTeamGraph(definitions);
  // AGENT_PEERS as AzureAgentTeam writes it for triage.
  const peers: AzurePeers = {
    billing: { taskUrl: `${billingRoute.url}/api/agents/billing/tasks`, audience: BILLING_AUDIENCE, stateAccountUrl: stateUrl('billing') },
    technical: { stateAccountUrl: stateUrl('technical') },
  };
  // In Azure these reach each agent's own accounts with its managed identity; here Azurite and
  // loopback fakes. An account asked for a container the agent has no business with fails.
  const clients: AzureClients = {
    container: (url, name) => {
      const match = /^http:\/\/(\w+)\.(state|audit)\.invalid$/.exec(url);
      if (!match || !(match[2] === 'state' ? ['jobs', 'inbox'] : ['audit']).includes(name)) throw new Error(`the runtime asked account ${url} for container ${name}`);
      return container(match[1]!, name);
    },
    topic: (endpoint) => new EventGridPublisher(new EventGridPublisherClient(endpoint, 'EventGrid', new AzureKeyCredential('k'), { allowInsecureConnection: true })),
    taskTopic: (endpoint) => new EventGridPublisherClient(endpoint, 'EventGrid', new AzureKeyCredential('k'), { allowInsecureConnection: true }),
    credential,
  };
  const jobsOutput = output.serviceBusQueue({ queueName: '%AGENT_QUEUE%', connection: 'ServiceBusConnection' });
  for (const definition of definitions) {
    const agent = definition.name as AgentName;
    const model = `claude-${agent}`;
    const config: AgentRuntimeConfig = { definition, route: [{ provider: 'anthropic', model, apiKeySecret: 'anthropic-api-key' }], prices: { [model]: { inputPerMTok: 1000, outputPerMTok: 1000 } }, callers: graph.callersOf(agent) };
    const env = {
      [secretSetting('anthropic-api-key')]: 'test-anthropic-key',
      STATE_ACCOUNT_URL: stateUrl(agent),
      AUDIT_ACCOUNT_URL: auditUrl(agent),
      AGENT_TOPIC_ENDPOINT: `${topic.url}/api/events`,
      ...(agent === 'triage' && { AGENT_PEERS: JSON.stringify(peers) }),
      // As AzureAgentTeam writes it for technical, which hands back to triage: its storage only.
      ...(agent === 'technical' && { AGENT_PEERS: JSON.stringify({ triage: { stateAccountUrl: stateUrl('triage') } } satisfies AzurePeers) }),
    };
    const runtime = buildAzureRuntime(config, env, clients);
    handlers[agent] = agentHandlers(config, () => runtime, jobsOutput, { maxDeliveries: MAX_DELIVERIES, sleep: async (ms) => void pauses.push(ms) });
  }
});

after(async () => {
  console.log = log;
  delete process.env.ANTHROPIC_BASE_URL;
  await Promise.all([azurite?.stop(), anthropic?.close(), topic?.close(), billingRoute?.close()]);
});

beforeEach(() => {
  resetBreakers();
  for (const model of Object.keys(scripts)) delete scripts[model];
});

describe('an Azure agent calling another', () => {
  it('calls billing over its task route with an Entra ID token, and reads billing\'s answer as its tool result', async () => {
    script('triage', { toolUses: [{ name: 'ask_billing', input: { task: 'Was ord_12345678 charged twice?' } }] }, { text: 'Billing says one refund is due.' });
    script('billing', { text: 'Yes: two charges of 49 EUR; refund one.' });
    const answer = await runTriage('I was charged twice.');
    assert.equal(answer.output, 'Billing says one refund is due.');
    assert.deepEqual(toolResultShownToTriage(), { content: 'Yes: two charges of 49 EUR; refund one.' });
    const [call] = billingRoute.requests;
    assert.equal(call!.headers.authorization, `Bearer token for ${BILLING_AUDIENCE}/.default`);
    assert.ok(scopesAsked.includes(`${BILLING_AUDIENCE}/.default`));
    const task = call!.body as AgentTask;
    assert.deepEqual([task.kind, task.from, task.to, task.input, task.chain.hop, task.chain.correlationId], ['call', 'triage', 'billing', 'Was ord_12345678 charged twice?', 1, answer.runId]);
    const billingPrompt = JSON.stringify((modelRequests('billing')[0]!.body as { messages: unknown[] }).messages[0]);
    assert.match(billingPrompt, /Was ord_12345678 charged twice\?/);
    const child = answer.children[0];
    assert.deepEqual([child.agent, child.kind, child.status], ['billing', 'call', 'succeeded']);
    const record = (await jobRecord('billing', child.runId))!;
    assert.deepEqual([record.status, record.output], ['succeeded', 'Yes: two charges of 49 EUR; refund one.']);
    assert.deepEqual(record.chain, { correlationId: answer.runId, parentRunId: answer.runId, parentAgent: 'triage', hop: 1, kind: 'call' });
  });

  it('reports a specialist that could not answer now (503) as the tool\'s error, and the orchestrator still answers', async () => {
    script('triage', { toolUses: [{ name: 'ask_billing', input: { task: 'Refund ord_87654321.' } }] }, { text: 'Billing is busy; a person will follow up.' });
    // Billing's model is overloaded on every attempt: a reason worth another try, so billing answers 503.
    script('billing', { status: 529 }, { status: 529 }, { status: 529 }, { status: 529 });
    const answer = await runTriage('Refund please.');
    assert.equal(answer.output, 'Billing is busy; a person will follow up.');
    const result = toolResultShownToTriage();
    assert.equal(result.is_error, true);
    assert.match(result.content, /agent "billing" could not answer: agent billing answered 503: run task-\w+ did not finish: /);
    const record = (await jobRecord('billing', answer.children[0].runId))!;
    assert.equal(record.status, 'queued', 'the same task sent again runs again');
    assert.deepEqual([answer.children[0].status], ['failed']);
  });

  it('fails a call it cannot make with the reason: no route, no answer', async () => {
    const task = { version: 1, kind: 'call', from: 'triage', to: 'billing', runId: 'task-unreachable', input: 'hi', chain: { correlationId: 'c', causationId: 'c', hop: 1, maxHops: 5, deadline: Date.now() + 60_000, budget: { costUsd: 1, tokens: 1000 }, cohort: 'default', path: ['triage'] } } as AgentTask;
    const options = { container: () => { throw new Error('unused'); }, inbox: new MemoryTaskInbox(), credential };
    // A port nothing listens on any more.
    const gone = await startLoopback(() => ({ status: 200 }));
    await gone.close();
    const closed = new AzureDelegates({ ...options, peers: { billing: { taskUrl: `${gone.url}/api/agents/billing/tasks`, audience: BILLING_AUDIENCE, stateAccountUrl: stateUrl('billing') } } });
    await assert.rejects(closed.call(task), /agent billing could not be reached: ECONNREFUSED/);
    const queuedOnly = new AzureDelegates({ ...options, peers: { billing: { stateAccountUrl: stateUrl('billing') } } });
    await assert.rejects(queuedOnly.call(task), /agent billing takes no calls from this agent \(AGENT_PEERS names no task route for it\)/);
    await assert.rejects(queuedOnly.call({ ...task, to: 'payroll' }), /agent payroll is not among the agents this one may reach \(AGENT_PEERS: billing\)/);
  });
});

describe('the task route', () => {
  const task = (from: string): AgentTask => ({
    version: 1,
    kind: 'call',
    from,
    to: 'billing',
    runId: `task-from-${from}`,
    input: 'Refund everything.',
    chain: { correlationId: 'root', causationId: 'root', hop: 1, maxHops: 5, deadline: Date.now() + 60_000, budget: { costUsd: 1, tokens: 10_000 }, cohort: 'default', path: [from] },
  });

  it('refuses a task from an agent that is not among its callers, running nothing', async () => {
    const calls = modelRequests('billing').length;
    const response = await handlers.billing.task(request('billing', 'tasks', task('technical')), context('task'));
    assert.equal(response.status, 200);
    assert.deepEqual([bodyOf(response).status, bodyOf(response).error], ['refused', 'refused: agent technical may not send tasks to billing (its definition does not list it)']);
    assert.equal(modelRequests('billing').length, calls);
    assert.ok(published().some((e) => e.eventType === 'handoff.refused' && e.data.refused.from === 'technical'));
  });

  it('answers 404 for another agent\'s name and 400 for a body that is not JSON', async () => {
    const elsewhere = new HttpRequest({ method: 'POST', url: 'https://billing.azurewebsites.net/api/agents/payroll/tasks', body: { string: JSON.stringify(task('triage')) }, params: { name: 'payroll' } });
    assert.equal((await handlers.billing.task(elsewhere, context('task'))).status, 404);
    const notJson = await handlers.billing.task(request('billing', 'tasks', '{"version":'), context('task'));
    assert.deepEqual([notJson.status, bodyOf(notJson).message], [400, 'the request body is not JSON']);
  });
});

describe('jobs and hand-offs through Event Grid and the target\'s queue', () => {
  it('hands off to technical: the event arrives on technical\'s queue, runs to the end with the chain, and a duplicate runs once', async () => {
    script('triage', { toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'The VPN drops every 10 minutes since the update.' } }] }, { text: 'Passed to technical support.' });
    script('technical', { text: 'Roll back the VPN client to 4.2.' });
    const answer = await runTriage('My VPN keeps dropping.');
    assert.deepEqual(await settled(), ['completed']);
    const [event] = taskEvents();
    assert.deepEqual([event!.eventType, event!.subject, event!.dataVersion], ['handoff.to.technical', `serverless-agents/agents/triage/runs/${answer.runId}`, '1']);
    assert.deepEqual([event!.id, event!.data.kind, event!.data.input], [event!.data.runId, 'handoff', 'The VPN drops every 10 minutes since the update.']);
    const record = (await jobRecord('technical', event!.data.runId))!;
    assert.deepEqual([record.status, record.output], ['succeeded', 'Roll back the VPN client to 4.2.']);
    assert.deepEqual(record.chain, { correlationId: answer.runId, parentRunId: answer.runId, parentAgent: 'triage', hop: 1, kind: 'handoff' });
    const completed = published().find((e) => e.eventType === 'run.completed' && e.data.agent === 'technical' && e.data.runId === event!.data.runId)!;
    assert.equal(completed.data.chain.correlationId, answer.runId);

    // The same event delivered again (Event Grid and Service Bus both deliver at least once).
    const calls = modelRequests('technical').length;
    assert.equal(await deliver(event!, 'sb-duplicate'), 'completed');
    assert.equal(modelRequests('technical').length, calls, 'the task ran once');
    assert.deepEqual(await jobRecord('technical', event!.data.runId), record);

    // The chain, read back from each agent's own audit account by its correlation id, in order.
    const chain = await readChain(new BlobAuditReader((agent) => container(agent, 'audit')), AGENTS, answer.runId);
    assert.deepEqual(chain.map((r) => [r.agent, r.chain?.hop ?? 0, r.runId]), [['triage', 0, answer.runId], ['technical', 1, event!.data.runId]]);
  });

  it('shows the hand-off on triage\'s job record as it ended, reported back through the topic into triage\'s queue', async () => {
    script('triage', { toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'The printer on floor 3 is offline.' } }] }, { text: 'Passed to technical.' });
    script('technical', { text: 'Printer restarted.' });
    await reported(); // what earlier runs reported, delivered by now
    const jobId = `job-${Date.now()}`;
    // A job the job route queued, as the Service Bus message the queue holds.
    await handlers.triage.queueMessage(JSON.stringify({ jobId, agent: 'triage', input: 'The printer is offline.' }), context('queue', { deliveryCount: 1, messageId: `sb-${jobId}` }));
    assert.deepEqual(await settled(), ['completed'], 'the hand-off ran on technical');
    assert.deepEqual(await reported(), ['completed'], 'its report reached triage');
    const record = (await jobRecord('triage', jobId))!;
    assert.deepEqual([record.status, record.children!.map((c) => [c.agent, c.kind, c.status])], ['succeeded', [['technical', 'handoff', 'succeeded']]]);
    const report = published().find((e) => e.eventType === 'result.to.triage' && e.data.chain?.parentRunId === jobId)!;
    assert.deepEqual([report.subject.startsWith('serverless-agents/agents/technical/'), report.data.status], [true, 'succeeded']);
  });

  it('gives billing a job through the topic and awaits its record: the answer is triage\'s tool result', async () => {
    script('triage', { toolUses: [{ name: 'billing_review', input: { task: 'Review every order of cus_123456 for wrong charges.' } }] }, { text: 'The review found nothing wrong.' });
    script('billing', { text: 'No wrong charges on any order of cus_123456.' });
    const answer = await runTriage('Check all my orders.');
    assert.deepEqual(await settled(), ['completed']);
    assert.equal(taskEvents().at(-1)!.eventType, 'delegation.to.billing');
    assert.deepEqual(toolResultShownToTriage(), { content: 'No wrong charges on any order of cus_123456.' });
    assert.equal(answer.output, 'The review found nothing wrong.');
    const child = answer.children[0];
    assert.deepEqual([child.agent, child.kind, child.status], ['billing', 'job', 'succeeded']);
    assert.equal((await jobRecord('billing', child.runId))!.chain!.kind, 'job');
  });

  it('sends an input larger than a message by reference through technical\'s inbox on Azurite, whole', async () => {
    const large = `${'The full VPN client log follows. '.repeat(Math.ceil(TASK_MESSAGE_LIMIT / 30))}END OF LOG`;
    script('triage', { toolUses: [{ name: 'handoff', input: { agent: 'technical', input: large } }] }, { text: 'Passed with the log.' });
    script('technical', { text: 'The log shows a certificate expiry.' });
    await runTriage('Here is my VPN log.');
    assert.deepEqual(await settled(), ['completed']);
    const event = taskEvents().at(-1)!;
    assert.equal(event.data.input, undefined);
    assert.equal(event.data.inputRef, event.data.runId);
    assert.ok(Buffer.byteLength(JSON.stringify(event)) < TASK_MESSAGE_LIMIT, 'the event fits a message');
    const stored = (await container('technical', 'inbox').getBlobClient(`${event.data.runId}.json`).downloadToBuffer()).toString('utf8');
    assert.equal(JSON.parse(stored), large);
    const prompt = (modelRequests('technical').at(-1)!.body as { messages: { content: string | { text: string }[] }[] }).messages[0]!.content;
    const text = typeof prompt === 'string' ? prompt : prompt.map((c) => c.text).join('');
    assert.ok(text.includes(large), `technical's model got the whole input (${text.length} characters for ${large.length})`);
    assert.equal((await jobRecord('technical', event.data.runId))!.status, 'succeeded');
  });

  it('dead-letters a hand-off that keeps failing, its record saying so, announced once', async () => {
    script('triage', { toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'Reset the MFA device of user 42.' } }] }, { text: 'Passed on.' });
    script('technical', ...Array.from({ length: 12 }, () => ({ status: 529 })));
    pauses.length = 0;
    await runTriage('MFA reset please.');
    assert.deepEqual(await settled(), ['dead-lettered']);
    const runId = taskEvents().at(-1)!.data.runId as string;
    const record = (await jobRecord('technical', runId))!;
    assert.deepEqual([record.status, record.deliveries, record.chain?.kind], ['dead_lettered', MAX_DELIVERIES, 'handoff']);
    assert.deepEqual(pauses, [10_000, 20_000], 'held before each redelivery, not after the last');
    assert.deepEqual(published().filter((e) => e.eventType === 'run.failed' && e.data.runId === runId).map((e) => e.data.status), ['dead_lettered']);
  });

  it('fails a task event whose data is not a task at once, saying why, instead of running it or redelivering it', async () => {
    const event: PublishedEvent = { id: 'evt-not-a-task', eventType: 'handoff.to.technical', subject: 'serverless-agents/agents/triage/runs/r-1', dataVersion: '1', data: { version: 1, kind: 'handoff' } };
    const calls = modelRequests('technical').length;
    assert.equal(await deliver(event, 'sb-not-a-task'), 'completed');
    const record = (await jobRecord('technical', 'sb-not-a-task'))!;
    assert.deepEqual([record.status, record.error], ['failed', 'the task is malformed: from: must be text']);
    assert.equal(modelRequests('technical').length, calls);
  });

  it('stops two agents handing a conversation back and forth, announced over the topic, with one trace across the chain', async () => {
    script('triage', { toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'Yours.' } }] }, { text: 'Passed.' }, { toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'Yours again.' } }] }, { text: 'Could not pass it on.' });
    script('technical', { toolUses: [{ name: 'handoff', input: { agent: 'triage', input: 'Not mine.' } }] }, { text: 'Passed back.' });
    const answer = await runTriage('Whose is it?');
    // technical's hand-off back goes out while its own delivery runs, and is delivered in turn.
    const outcomes: string[] = [];
    for (let batch = await settled(); batch.length; batch = await settled()) outcomes.push(...batch);
    assert.deepEqual(outcomes, ['completed', 'completed']);
    const refused = published().filter((e) => e.eventType === 'handoff.refused' && e.data.chain?.correlationId === answer.runId);
    assert.deepEqual(refused.map((e) => [e.data.agent, e.data.refused.to, e.data.refused.reason]), [['triage', 'technical', 'loop']]);
    assert.match(refused[0]!.data.refused.message, /triage → technical → triage/);
    assert.equal(taskEvents().filter((e) => e.data.chain.correlationId === answer.runId).length, 2, 'the third hop never went out');
    const chain = await readChain(new BlobAuditReader((agent) => container(agent, 'audit')), AGENTS, answer.runId);
    assert.deepEqual(chain.map((r) => [r.agent, r.chain?.hop ?? 0]), [['triage', 0], ['technical', 1], ['triage', 2]]);
    assert.equal(new Set(chain.map((r) => r.traceId)).size, 1, 'one trace id across every run of the chain');
  });

  it('refuses at the receiver a task past its hop limit: recorded once, announced once, nothing run', async () => {
    const task: AgentTask = {
      version: 1,
      kind: 'handoff',
      from: 'triage',
      to: 'technical',
      runId: 'task-too-far',
      input: 'Go on.',
      chain: { correlationId: 'far', causationId: 'far', hop: 6, maxHops: 9, deadline: Date.now() + 60_000, budget: { costUsd: 1, tokens: 10_000 }, cohort: 'default', path: ['triage', 'billing', 'triage', 'billing', 'triage', 'triage'] },
    };
    const event: PublishedEvent = { id: task.runId, eventType: 'handoff.to.technical', subject: 'serverless-agents/agents/triage/runs/far', dataVersion: '1', data: task };
    const calls = modelRequests('technical').length;
    assert.equal(await deliver(event), 'completed', 'a refusal is final: the message is done with');
    assert.equal(await deliver(event, 'sb-again'), 'completed');
    assert.equal(modelRequests('technical').length, calls);
    const record = (await jobRecord('technical', 'task-too-far'))!;
    assert.deepEqual([record.status, record.error], ['failed', 'refused: the chain has reached its limit of 5 hops']);
    assert.equal(published().filter((e) => e.eventType === 'handoff.refused' && e.data.refused.taskRunId === 'task-too-far').length, 1);
  });

  it('shares one budget along the chain: billing runs out of what triage left it, and the chain ends on cost_budget', async () => {
    // 100 tokens in and 5 out a turn: 0.105 USD.
    const costly = { usage: { inputTokens: 100 } };
    script('triage', { toolUses: [{ name: 'ask_billing', input: { task: 'Audit every invoice.' } }], ...costly });
    script('billing', { toolUses: [{ name: 'nothing', input: {} }], ...costly }, { toolUses: [{ name: 'nothing', input: {} }], ...costly });
    const response = await handlers.triage.invoke(request('triage', 'invocations', { input: 'Audit.' }), context('invoke'));
    assert.equal(response.status, 422, JSON.stringify(response.jsonBody));
    assert.equal(bodyOf(response).stopReason, 'cost_budget');
    const billing = (await readChain(new BlobAuditReader((agent) => container(agent, 'audit')), AGENTS, bodyOf(response).runId)).find((r) => r.agent === 'billing')!;
    assert.deepEqual([billing.stopReason, Math.round(billing.costUsd * 1000) / 1000], ['cost_budget', 0.21], 'billing had 0.145 of the chain left, not its own 1 USD');
  });
});
