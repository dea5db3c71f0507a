import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { HttpRequest, InvocationContext, output, type HttpResponseInit } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import type { JobMessage } from '../../contract/api/messages';
import { type AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { AZURE_RUNTIME_ENV, secretSetting } from '../../contract/config/settings';
import { AzureDelegates, parsePeers } from '../../functions/azure/delegates';
import { EventGridPublisher } from '../../functions/azure/eventgrid-publisher';
import { agentHandlers, type AgentHandlers } from '../../functions/azure/handlers';
import { buildAzureRuntime, type AzureClients } from '../../functions/azure/runtime';
import { BlobJobStore } from '../../functions/azure/blob-state';
import { exampleAgent } from '../../stacks/single-agent/example-agent';
import { startAzurite, type Azurite } from '../__fixtures__/azurite';
import { startLoopback, type LoopbackServer } from '../__fixtures__/loopback';
import { startAnthropicFake, type ModelFake } from '../__fixtures__/model-fakes';

/**
 * An agent whose state and audit accounts it shares with other agents (a fleet's shard): the
 * runtime reaches only containers that start with its prefix, against Azurite with the real Blob
 * client; a neighbour's containers in the same account stay untouched.
 */

let azurite: Azurite;
let anthropic: ModelFake;
let topic: LoopbackServer;
let handlers: AgentHandlers;
let service: BlobServiceClient;
/** Every container the runtime asked for, by account. */
const asked: string[] = [];
const STATE = 'http://shard-state.invalid';
const AUDIT = 'http://shard-audit.invalid';
const env = { [secretSetting('anthropic-api-key')]: 'k', [AZURE_RUNTIME_ENV.stateAccountUrl]: STATE, [AZURE_RUNTIME_ENV.auditAccountUrl]: AUDIT, [AZURE_RUNTIME_ENV.containerPrefix]: 'support-' };
const jobs = output.serviceBusQueue({ queueName: '%AGENT_QUEUE%', connection: 'ServiceBusConnection' });
let invocations = 0;
const context = (functionName: string, triggerMetadata?: Record<string, unknown>) => new InvocationContext({ invocationId: `inv-${++invocations}`, functionName, ...(triggerMetadata && { triggerMetadata }) });
const bodyOf = (response: HttpResponseInit) => response.jsonBody as Record<string, any>;
const names = async (container: string) => {
  const found: string[] = [];
  for await (const blob of service.getContainerClient(container).listBlobsFlat()) found.push(blob.name);
  return found;
};

before(async () => {
  azurite = await startAzurite();
  anthropic = await startAnthropicFake(() => ({ text: JSON.stringify({ category: 'billing', severity: 'sev3', summary: 'refund', nextAction: 'answer', dueBy: new Date(Date.now() + 86_400_000).toISOString(), confidence: 0.9 }) }));
  topic = await startLoopback(() => ({ status: 200, body: '' }));
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  // The shard's accounts hold the neighbour's containers beside the agent's.
  for (const name of ['support-jobs', 'support-audit', 'billing-jobs', 'billing-audit']) await service.getContainerClient(name).create();
  const config: AgentRuntimeConfig = { definition: { ...exampleAgent(), skills: [] }, route: [{ provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'anthropic-api-key' }] };
  process.env.ANTHROPIC_BASE_URL = anthropic.url;
  const clients: AzureClients = {
    container: (url, name) => {
      asked.push(`${url === STATE ? 'state' : url === AUDIT ? 'audit' : url}/${name}`);
      return service.getContainerClient(name);
    },
    topic: (endpoint) => new EventGridPublisher(new EventGridPublisherClient(endpoint, 'EventGrid', new AzureKeyCredential('k'), { allowInsecureConnection: true })),
  };
  handlers = agentHandlers(config, () => buildAzureRuntime(config, { ...env, AGENT_TOPIC_ENDPOINT: `${topic.url}/api/events` }, clients), jobs, { maxDeliveries: 3, sleep: async () => {} });
});

after(async () => {
  delete process.env.ANTHROPIC_BASE_URL;
  await Promise.all([azurite?.stop(), anthropic?.close(), topic?.close()]);
});

describe('an Azure agent in shared state and audit accounts', () => {
  it('keeps its job records and audit in its own prefixed containers, and touches no neighbour\'s', async () => {
    const ctx = context('submit-job');
    const submitted = await handlers.submitJob(
      new HttpRequest({ method: 'POST', url: 'https://support.azurewebsites.net/api/agents/support/jobs', body: { string: JSON.stringify({ input: 'Refund order ord_87654321.' }) }, params: { name: 'support' } }),
      ctx,
    );
    assert.equal(submitted.status, 202);
    const { jobId } = bodyOf(submitted);
    await handlers.queueMessage(ctx.extraOutputs.get(jobs) as JobMessage, context('queue', { messageId: 'm-1', deliveryCount: 1 }));
    const status = bodyOf(await handlers.jobStatus(new HttpRequest({ method: 'GET', url: `https://support.azurewebsites.net/api/agents/support/jobs/${jobId}`, params: { name: 'support', jobId } }), context('job-status')));
    assert.equal(status.status, 'succeeded');
    assert.deepEqual([...new Set(asked)].sort(), ['audit/support-audit', 'state/support-jobs']);
    assert.ok((await names('support-jobs')).some((n) => n.includes(jobId)), 'the job record in support-jobs');
    assert.ok((await names('support-audit')).some((n) => n.includes(jobId)), 'the audit record in support-audit');
    assert.deepEqual([...(await names('billing-jobs')), ...(await names('billing-audit'))], []);
  });

  it('reads a peer\'s job records in the peer\'s prefixed container of a shared account', async () => {
    await new BlobJobStore(service.getContainerClient('billing-jobs')).put({ jobId: 'job-9', agent: 'billing', status: 'succeeded', createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), output: 'refunded' } as never);
    const peers = parsePeers(JSON.stringify({ billing: { stateAccountUrl: STATE, containerPrefix: 'billing-' } }));
    const seen: string[] = [];
    const delegates = new AzureDelegates({ peers, container: (url: string, name: string) => (seen.push(`${url}/${name}`), service.getContainerClient(name)), inbox: undefined as never, credential: undefined as never } as never);
    assert.equal((await delegates.status('billing', 'job-9'))?.status, 'succeeded');
    assert.deepEqual(seen, [`${STATE}/billing-jobs`]);
    assert.throws(() => parsePeers(JSON.stringify({ billing: { stateAccountUrl: STATE, containerPrefix: 7 } })), /AGENT_PEERS\.billing\.containerPrefix: must be the start of the agent's container names/);
  });
});
