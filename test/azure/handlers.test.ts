import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { HttpRequest, InvocationContext, output, type EventGridEvent, type HttpResponseInit } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { defineAgent } from '../../contract/definition';
import { secretSetting, UNSET_SECRET_VALUE } from '../../contract/config/settings';
import { type AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { toRuntimeTarget } from '../../contract/routing/config';
import { BlobAuditSink } from '../../functions/azure/blob-state';
import { EventGridPublisher } from '../../functions/azure/eventgrid-publisher';
import type { JobMessage } from '../../contract/api/messages';
import { agentHandlers, redeliveryPauseMs, type AgentHandlers } from '../../functions/azure/handlers';
import { appSettingSecrets, buildAzureRuntime, type AzureClients } from '../../functions/azure/runtime';
import { exampleAgent } from '../../stacks/single-agent/example-agent';
import { SKILLS } from '../helpers';
import { startAzurite, uploadSkills, type Azurite } from '../__fixtures__/azurite';
import { startLoopback, type LoopbackServer } from '../__fixtures__/loopback';
import { startAnthropicFake, startOpenAiFake, type ModelFake } from '../__fixtures__/model-fakes';
import { resetBreakers } from '../../functions/core/models/circuit-breaker';

/**
 * The Azure Functions handlers without the Functions host: real `HttpRequest` and
 * `InvocationContext` objects, the real Blob client against Azurite for skills, job status and
 * audit, the real Event Grid client against a loopback topic, and the same Anthropic fake as the
 * AWS side.
 */

let azurite: Azurite;
let anthropic: ModelFake;
let topic: LoopbackServer;
let handlers: AgentHandlers;
let clients: AzureClients;
const env = { [secretSetting('anthropic-api-key')]: 'test-anthropic-key', SKILLS_ACCOUNT_URL: 'http://skills.invalid', STATE_ACCOUNT_URL: 'http://state.invalid', AUDIT_ACCOUNT_URL: 'http://audit.invalid' };
/** Which containers each account the settings name holds: audit has an account of its own. */
const ACCOUNTS: Record<string, readonly string[]> = { 'http://skills.invalid': ['skills'], 'http://state.invalid': ['jobs'], 'http://audit.invalid': ['audit'] };
const jobs = output.serviceBusQueue({ queueName: '%AGENT_QUEUE%', connection: 'ServiceBusConnection' });

const future = () => new Date(Date.now() + 3 * 86_400_000).toISOString();
/** The model answers with a triage echoing the prompt; a prompt saying BROKEN gets a past due date, which the rules refuse. */
function triage(body: unknown) {
  const prompt = JSON.stringify((body as { messages: unknown[] }).messages[0]);
  // A prompt saying CRASH gets a request the API refuses (400): no retry helps, the run fails.
  if (prompt.includes('CRASH')) return { status: 400 };
  // One saying OVERLOADED finds the API overloaded (529): worth another delivery.
  if (prompt.includes('OVERLOADED')) return { status: 529 };
  const due = prompt.includes('BROKEN') ? '2020-01-01T00:00:00Z' : future();
  return { text: JSON.stringify({ category: 'billing', severity: 'sev3', summary: `seen: ${prompt.slice(0, 200)}`, nextAction: 'answer', dueBy: due, confidence: 0.9 }) };
}

// Each test is its own scenario: what one taught a target's circuit breaker must not carry over.
beforeEach(() => resetBreakers());

before(async () => {
  azurite = await startAzurite();
  anthropic = await startAnthropicFake(triage);
  topic = await startLoopback(() => ({ status: 200, body: '' }));
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  for (const name of ['skills', 'jobs', 'audit']) await service.getContainerClient(name).create();
  await uploadSkills(service.getContainerClient('skills'), SKILLS);

  // The example agent, routed to the Anthropic API with its key as the platform hands it over.
  const config: AgentRuntimeConfig = { definition: exampleAgent(), route: [{ provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'anthropic-api-key' }] };
  process.env.ANTHROPIC_BASE_URL = anthropic.url;
  Object.assign(env, { AGENT_TOPIC_ENDPOINT: `${topic.url}/api/events` });
  // In Azure these clients use the managed identity; here Azurite's account and the loopback topic.
  clients = {
    // Azurite serves one account; a container asked of an account that does not hold it fails.
    container: (url, name) => {
      if (!ACCOUNTS[url]?.includes(name)) throw new Error(`the runtime asked account ${url} for container ${name}`);
      return service.getContainerClient(name);
    },
    topic: (endpoint) => new EventGridPublisher(new EventGridPublisherClient(endpoint, 'EventGrid', new AzureKeyCredential('k'), { allowInsecureConnection: true })),
  };
  const runtime = buildAzureRuntime(config, env, clients);
  handlers = agentHandlers(config, () => runtime, jobs, { maxDeliveries: 3, sleep: async (ms) => void pauses.push(ms) });
});

after(async () => {
  delete process.env.ANTHROPIC_BASE_URL;
  await Promise.all([azurite?.stop(), anthropic?.close(), topic?.close()]);
});

/** The pauses the queue handler took before giving a message back. */
const pauses: number[] = [];
let invocations = 0;
const context = (functionName: string, triggerMetadata?: Record<string, unknown>) =>
  new InvocationContext({ invocationId: `inv-${++invocations}`, functionName, ...(triggerMetadata && { triggerMetadata }) });
const post = (route: string, body: string | object, params: Record<string, string> = { name: 'support' }) =>
  new HttpRequest({ method: 'POST', url: `https://support.azurewebsites.net/api/agents/${params.name}/${route}`, body: { string: typeof body === 'string' ? body : JSON.stringify(body) }, params });
const get = (jobId: string) => new HttpRequest({ method: 'GET', url: `https://support.azurewebsites.net/api/agents/support/jobs/${jobId}`, params: { name: 'support', jobId } });
const bodyOf = (response: HttpResponseInit) => response.jsonBody as Record<string, any>;
/** What the Functions host hands a timer function: with schedule monitoring, `next` is the occurrence being run. */
const timer = (occurrence: string) => ({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: occurrence, lastUpdated: occurrence } });
const published = () => topic.requests.flatMap((r) => r.body as { eventType: string; data: Record<string, any> }[]);
const auditBlob = async (runId: string) => {
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('audit');
  for await (const blob of container.listBlobsFlat({ prefix: 'agent=support/' })) if (blob.name.includes(`/${runId}/`)) return blob.name;
  return undefined;
};

describe('the Azure HTTP trigger', () => {
  it('answers a synchronous invocation with the validated answer, audited and announced', async () => {
    const response = await handlers.invoke(post('invocations', { input: 'I was charged twice for order ord_12345678.', idempotencyKey: 'sync-1' }), context('invoke'));
    assert.equal(response.status, 200, JSON.stringify(response.jsonBody));
    assert.equal(bodyOf(response).structuredOutput.category, 'billing');
    assert.match(bodyOf(response).structuredOutput.summary, /charged twice/);
    const sent = anthropic.requests.at(-1)!;
    assert.equal(sent.headers.authorization, 'Bearer test-anthropic-key', 'the key from its app setting');
    assert.match(JSON.stringify((sent.body as { system: unknown }).system), /ticket-triage:/, 'the skill catalog came from Blob storage');
    assert.match((await auditBlob('sync-1'))!, /^agent=support\/date=\d{4}-\d{2}-\d{2}\/sync-1\/\d{8}T\d{9}Z-[0-9a-f]{6}\.jsonl$/);
    const event = published().find((e) => e.eventType === 'run.completed' && e.data.runId === 'sync-1');
    assert.equal(event?.data.agent, 'support');
  });

  it('refuses what it cannot run with a 4xx and the reason', async () => {
    const notJson = await handlers.invoke(post('invocations', '{"input":'), context('invoke'));
    assert.equal(notJson.status, 400);
    assert.equal(bodyOf(notJson).message, 'the request body is not JSON');
    const invalid = await handlers.invoke(post('invocations', { prompt: 'hi' }), context('invoke'));
    assert.equal(invalid.status, 400);
    assert.deepEqual(bodyOf(invalid).problems, ['input: must be the prompt as text (1-100000 characters) or a JSON object', '(body): Unrecognized key: "prompt"']);
    const deep = `{"input":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    const tooDeep = await handlers.invoke(post('invocations', deep), context('invoke'));
    assert.equal(tooDeep.status, 400);
    assert.deepEqual(bodyOf(tooDeep).problems, ['(body): is nested deeper than 32 levels']);
    const tooLarge = await handlers.invoke(post('invocations', { input: { notes: 'x'.repeat(300_000) } }), context('invoke'));
    assert.deepEqual(bodyOf(tooLarge).problems, ['(body): is larger than 256 KiB']);
    const elsewhere = await handlers.invoke(post('invocations', { input: 'hi' }, { name: 'billing' }), context('invoke'));
    assert.equal(elsewhere.status, 404);
  });

  it('answers a request retried with its idempotency key with the first answer, without a run, and refuses the key for another body', async () => {
    const body = { input: 'Refund order ord_12345678, charged twice.', idempotencyKey: 'refund-az-1' };
    const calls = anthropic.requests.length;
    const first = await handlers.invoke(post('invocations', body), context('invoke'));
    const again = await handlers.invoke(post('invocations', { idempotencyKey: body.idempotencyKey, input: body.input }), context('invoke'));
    assert.equal(first.status, 200);
    assert.deepEqual([again.status, again.jsonBody], [200, first.jsonBody]);
    assert.equal(anthropic.requests.length, calls + 1, 'one run for two requests');
    const other = await handlers.invoke(post('invocations', { ...body, input: 'Refund order ord_87654321.' }), context('invoke'));
    assert.equal(other.status, 409);
    assert.match(bodyOf(other).message, /idempotency key "refund-az-1" was already used for a different request/);
    // The key names an invocation now; a job under it is another request.
    assert.equal((await handlers.submitJob(post('jobs', body), context('submit-job'))).status, 409);
    assert.equal(bodyOf(await handlers.jobStatus(get('refund-az-1'), context('job-status'))).status, 'succeeded');
  });

  it('runs a keyed request again when retried after no model answered, each attempt audited beside the other', async () => {
    const first = await handlers.invoke(post('invocations', { input: 'OVERLOADED: where is ord_12345678?', idempotencyKey: 'parcel-az-1' }), context('invoke'));
    assert.deepEqual([first.status, bodyOf(first).retryable], [503, true]);
    const record = bodyOf(await handlers.jobStatus(get('parcel-az-1'), context('job-status')));
    assert.deepEqual([record.status, record.retryable], ['failed', true]);
    const again = await handlers.invoke(post('invocations', { input: 'OVERLOADED: where is ord_12345678?', idempotencyKey: 'parcel-az-1' }), context('invoke'));
    assert.equal(again.status, 503);
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('audit');
    const attempts: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: 'agent=support/' })) if (blob.name.includes('/parcel-az-1/')) attempts.push(blob.name);
    assert.equal(attempts.length, 2, 'two attempts, two audit blobs');
    // A second write to an attempt's blob is refused: audit blobs are created, never replaced.
    await assert.rejects(container.getBlockBlobClient(attempts[0]!).upload('x', 1, { conditions: { ifNoneMatch: '*' } }), (e: { statusCode?: number }) => e.statusCode === 409);
  });

  it('writes audit records to the audit account, and a record once written is never overwritten', async () => {
    const response = await handlers.invoke(post('invocations', { input: 'Where is order ord_24242424?', idempotencyKey: 'audit-az-1' }), context('invoke'));
    assert.equal(response.status, 200);
    const name = (await auditBlob('audit-az-1'))!;
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('audit');
    const read = async () => (await container.getBlobClient(name).downloadToBuffer()).toString('utf8');
    const stored = await read();
    const [run] = stored.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    assert.equal(run!.runId, 'audit-az-1');
    // The same attempt written again, altered (a retried write, or a run trying to cover its
    // tracks): the writer creates only, so the stored record stays as it was. Past that, the
    // container's immutability policy refuses overwrites and deletes to any writer in Azure,
    // which Azurite does not emulate.
    await new BlobAuditSink(container).write([{ ...run, stopReason: 'end_turn', output: 'nothing happened here' } as never]);
    assert.equal(await read(), stored);
    await assert.rejects(container.getBlockBlobClient(name).upload('forged', 6, { conditions: { ifNoneMatch: '*' } }), (e: { statusCode?: number }) => e.statusCode === 409);
    assert.equal(await read(), stored);
  });

  it('answers 422 with the validation report when the answer breaks its rules', async () => {
    const response = await handlers.invoke(post('invocations', { input: 'BROKEN ticket' }), context('invoke'));
    assert.equal(response.status, 422);
    assert.match(JSON.stringify(bodyOf(response).validation.problems), /dueBy/);
  });
});

describe('jobs through Service Bus', () => {
  it('queues a job with its id, runs it from the queue, and reports its status', async () => {
    const ctx = context('submit-job');
    const submitted = await handlers.submitJob(post('jobs', { input: 'Please refund order ord_87654321.' }), ctx);
    assert.equal(submitted.status, 202);
    const { jobId, statusUrl } = bodyOf(submitted);
    assert.match(jobId, /^[0-9a-f-]{36}$/);
    assert.equal(statusUrl, `/api/agents/support/jobs/${jobId}`);
    const message = ctx.extraOutputs.get(jobs) as JobMessage;
    assert.deepEqual(message, { jobId, agent: 'support', input: 'Please refund order ord_87654321.' });
    assert.equal(bodyOf(await handlers.jobStatus(get(jobId), context('job-status'))).status, 'queued');

    await handlers.queueMessage(message, context('queue', { messageId: 'm-1', deliveryCount: 1 }));
    const status = bodyOf(await handlers.jobStatus(get(jobId), context('job-status')));
    assert.equal(status.status, 'succeeded');
    assert.match(status.structuredOutput.summary, /refund order/);
    assert.ok(published().some((e) => e.eventType === 'run.completed' && e.data.jobId === jobId && e.data.trigger === 'job'));

    // Service Bus delivers at least once: a redelivered job that succeeded does not run again.
    const calls = anthropic.requests.length;
    await handlers.queueMessage(JSON.stringify(message), context('queue', { messageId: 'm-1', deliveryCount: 2 }));
    assert.equal(anthropic.requests.length, calls);
  });

  it('answers a resubmitted idempotency key with the job it started, queueing nothing once it ran', async () => {
    const submit = () => post('jobs', { input: 'Order ord_11112222 arrived broken.', idempotencyKey: 'ticket-77' });
    const first = context('submit-job');
    assert.equal(bodyOf(await handlers.submitJob(submit(), first)).jobId, 'ticket-77');
    await handlers.queueMessage(first.extraOutputs.get(jobs), context('queue', { messageId: 'm-77', deliveryCount: 1 }));
    const again = context('submit-job');
    const response = await handlers.submitJob(submit(), again);
    assert.equal(response.status, 202);
    assert.deepEqual([bodyOf(response).jobId, bodyOf(response).status], ['ticket-77', 'succeeded']);
    assert.equal(again.extraOutputs.get(jobs), undefined);
  });

  it('fails a message whose answer broke its rules at once, completing it, and runs nothing on a redelivery', async () => {
    // Another try would break the rules again: the job fails now and the message is done with.
    const message: JobMessage = { jobId: 'job-broken', agent: 'support', input: 'BROKEN order' };
    const done = (await handlers.queueMessage(message, context('queue', { messageId: 'm-2', deliveryCount: 1 }))) as { status: string; error: string };
    assert.equal(done.status, 'failed');
    assert.match(done.error, /the answer failed validation: dueBy/);
    const failed = bodyOf(await handlers.jobStatus(get('job-broken'), context('job-status')));
    assert.equal(failed.status, 'failed');
    assert.ok(failed.validation);
    const calls = anthropic.requests.length;
    assert.equal(((await handlers.queueMessage(message, context('queue', { messageId: 'm-2', deliveryCount: 2 }))) as { status: string }).status, 'failed');
    assert.equal(anthropic.requests.length, calls);
    const events = published().filter((e) => e.eventType === 'run.failed' && e.data.jobId === 'job-broken');
    assert.deepEqual(events.map((e) => e.data.status), ['failed']);
  });

  it('marks a job dead-lettered and announces it on its last delivery, before Service Bus dead-letters it', async () => {
    const message: JobMessage = { jobId: 'job-crash', agent: 'support', input: 'OVERLOADED please' };
    pauses.length = 0;
    await assert.rejects(handlers.queueMessage(message, context('queue', { messageId: 'm-5', deliveryCount: 1 })));
    assert.deepEqual(pauses, [10_000], 'the message is held 10 s before Service Bus gets it back');
    const retrying = bodyOf(await handlers.jobStatus(get('job-crash'), context('job-status')));
    assert.deepEqual([retrying.status, typeof retrying.error], ['queued', 'string']);
    assert.ok(!published().some((e) => e.eventType === 'run.failed' && e.data.jobId === 'job-crash'), 'no event while deliveries remain');
    await assert.rejects(handlers.queueMessage(message, context('queue', { messageId: 'm-5', deliveryCount: 3 })));
    assert.deepEqual(pauses, [10_000], 'no pause on the last delivery: it is dead-lettered next');
    assert.equal(bodyOf(await handlers.jobStatus(get('job-crash'), context('job-status'))).status, 'dead_lettered');
    assert.deepEqual(published().filter((e) => e.eventType === 'run.failed' && e.data.jobId === 'job-crash').map((e) => e.data.status), ['dead_lettered']);
  });

  it('refuses a job key reused with another body, naming the key', async () => {
    assert.equal((await handlers.submitJob(post('jobs', { input: 'Order ord_44445555 is lost.', idempotencyKey: 'ticket-99' }), context('submit-job'))).status, 202);
    const other = context('submit-job');
    const response = await handlers.submitJob(post('jobs', { input: 'Order ord_44445556 is lost.', idempotencyKey: 'ticket-99' }), other);
    assert.equal(response.status, 409);
    assert.match(bodyOf(response).message, /"ticket-99"/);
    assert.equal(other.extraOutputs.get(jobs), undefined, 'nothing queued');
  });

  it('queues a resubmitted job again when no delivery has touched it, since the first send may have failed', async () => {
    const submit = () => post('jobs', { input: 'Order ord_12121212 is late.', idempotencyKey: 'ticket-88' });
    await handlers.submitJob(submit(), context('submit-job'));
    const again = context('submit-job');
    assert.equal((await handlers.submitJob(submit(), again)).status, 202);
    assert.deepEqual(again.extraOutputs.get(jobs), { jobId: 'ticket-88', agent: 'support', input: 'Order ord_12121212 is late.' });
  });

  it('fails a job message with an invalid body at once, saying why', async () => {
    await handlers.queueMessage({ jobId: 'job-empty', agent: 'support', input: '' }, context('queue', { messageId: 'm-3' }));
    const record = bodyOf(await handlers.jobStatus(get('job-empty'), context('job-status')));
    assert.equal(record.status, 'failed');
    assert.match(record.error, /the job's body is invalid: input: must not be empty/);
    assert.ok(published().some((e) => e.eventType === 'run.failed' && e.data.jobId === 'job-empty' && e.data.status === 'failed'));
  });

  it('runs a plain request body sent straight to the queue, keyed by its message id', async () => {
    const result = (await handlers.queueMessage({ input: 'Is order ord_33334444 shipped?' }, context('queue', { messageId: 'm-4', deliveryCount: 1 }))) as { runId: string };
    assert.equal(result.runId, 'm-4');
    assert.ok(await auditBlob('m-4'));
  });
});

describe('the Event Grid and timer triggers', () => {
  it('runs an Event Grid event once, keyed by the event id', async () => {
    const event: EventGridEvent = {
      id: 'evt-1',
      topic: '/subscriptions/s/resourceGroups/agents/providers/Microsoft.EventGrid/topics/agents',
      subject: 'serverless-agents/agents/intake/runs/r-9',
      eventType: 'handoff',
      eventTime: new Date().toISOString(),
      dataVersion: '1',
      metadataVersion: '1',
      data: { handoff: { to: 'support', input: 'Customer disputes order ord_55556666.' } },
    };
    const result = (await handlers.event(event, context('events'))) as { runId: string; structuredOutput: { summary: string } };
    assert.equal(result.runId, 'evt-1');
    assert.match(JSON.stringify(anthropic.requests.at(-1)!.body), /ord_55556666/);
    const calls = anthropic.requests.length;
    await handlers.event(event, context('events'));
    assert.equal(anthropic.requests.length, calls);
  });

  it('marks a failed schedule run failed and announces it: a timer never fires the same run again', async () => {
    const config: AgentRuntimeConfig = {
      definition: defineAgent({ ...exampleAgent(), triggers: [{ type: 'schedule', expression: 'rate(1 hour)', input: 'OVERLOADED for the nightly digest' }] }),
      route: [{ provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'anthropic-api-key' }],
    };
    const nightly = agentHandlers(config, () => buildAzureRuntime(config, env, clients), jobs);
    const ctx = context('schedule-0');
    await assert.rejects(nightly.schedule(0)(timer('2026-12-01T02:00:00Z'), ctx));
    const runId = 'schedule-0-20261201T0200Z';
    assert.equal(bodyOf(await handlers.jobStatus(get(runId), context('job-status'))).status, 'failed');
    assert.ok(published().some((e) => e.eventType === 'run.failed' && e.data.runId === runId && e.data.trigger === 'schedule'));
  });

  it('runs a schedule with the prompt its trigger names, once per occurrence however often the timer fires for it', async () => {
    const calls = anthropic.requests.length;
    const result = (await handlers.schedule(0)(timer('2026-12-01T06:00:00.000Z'), context('schedule-0'))) as { runId: string };
    assert.equal(result.runId, 'schedule-0-20261201T0600Z');
    assert.match(JSON.stringify(anthropic.requests.at(-1)!.body), /Summarise yesterday's escalated tickets/);
    // The same occurrence again (a restart, a past-due catch-up), and twice at once: nothing runs.
    await handlers.schedule(0)({ ...timer('2026-12-01T06:00:00.000Z'), isPastDue: true }, context('schedule-0'));
    assert.equal(anthropic.requests.length, calls + 1);
    await Promise.all([handlers.schedule(0)(timer('2026-12-01T07:00:00Z'), context('schedule-0')), handlers.schedule(0)(timer('2026-12-01T07:00:00Z'), context('schedule-0'))]);
    assert.equal(anthropic.requests.length, calls + 2, 'the next occurrence runs, once');
  });
});

describe('an Azure OpenAI route', () => {
  let openai: ModelFake;
  after(async () => openai?.close());

  it('calls the deployment through the v1 API with the key as a bearer token', async () => {
    openai = await startOpenAiFake(triage);
    const target = toRuntimeTarget({ provider: 'azure-openai', resource: 'agents-openai', deployment: 'gpt-4-1', apiKeySecret: 'azure-openai-api-key' });
    assert.equal(target.provider, 'openai-compatible');
    // The resource's URL with its host swapped for the loopback fake.
    const route = [{ ...target, baseUrl: (target as { baseUrl: string }).baseUrl.replace('https://agents-openai.openai.azure.com', openai.url.replace(/\/v1$/, '')) }];
    const config: AgentRuntimeConfig = { definition: defineAgent({ ...exampleAgent(), skills: [] }), route };
    const runtime = await buildAzureRuntime(config, { [secretSetting('azure-openai-api-key')]: 'aoai-key' });
    const result = await runtime.agent.run({ runId: 'aoai-1', input: 'Ticket about order ord_99990000', trigger: 'api', deadline: Date.now() + 30_000 });
    assert.equal(result.stopReason, 'end_turn');
    const [request] = openai.requests;
    assert.equal(request!.path, '/openai/v1/chat/completions');
    assert.equal(request!.headers.authorization, 'Bearer aoai-key');
    assert.equal((request!.body as { model: string }).model, 'gpt-4-1');
  });

  it('fails clearly when a Key Vault reference was not resolved', async () => {
    const secrets = appSettingSecrets({ [secretSetting('anthropic-api-key')]: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/anthropic-api-key/)' });
    await assert.rejects(secrets('anthropic-api-key'), /app setting SECRET_ANTHROPIC_API_KEY is an unresolved Key Vault reference/);
    await assert.rejects(appSettingSecrets({})('anthropic-api-key'), /secret anthropic-api-key is not in app setting SECRET_ANTHROPIC_API_KEY/);
    await assert.rejects(appSettingSecrets({ SECRET_ANTHROPIC_API_KEY: UNSET_SECRET_VALUE })('anthropic-api-key'), /secret anthropic-api-key still holds the deployment's placeholder: set it with az keyvault secret set/);
  });
});

describe('the pause before a Service Bus message goes back', () => {
  it('doubles from 10 s per delivery up to 60 s, and never runs past the host timeout', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => redeliveryPauseMs(n, 600_000)), [10_000, 20_000, 40_000, 60_000, 60_000]);
    assert.equal(redeliveryPauseMs(2, 12_000), 7_000, '5 s kept to give the message back');
    assert.equal(redeliveryPauseMs(1, 3_000), 0);
  });
});
