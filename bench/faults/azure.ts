import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { HttpRequest, InvocationContext, output } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import type { JobMessage } from '../../contract/api/messages';
import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { secretSetting } from '../../contract/config/settings';
import type { JobRecord } from '../../contract/jobs/job-record';
import { EventGridPublisher } from '../../functions/azure/eventgrid-publisher';
import { agentHandlers } from '../../functions/azure/handlers';
import { buildAzureRuntime, type AzureClients } from '../../functions/azure/runtime';
import { exampleAgent } from '../../stacks/single-agent/example-agent';
import { startAzurite, uploadSkills } from '../../test/__fixtures__/azurite';
import { startLoopback } from '../../test/__fixtures__/loopback';
import { startAnthropicFake, startOpenAiFake } from '../../test/__fixtures__/model-fakes';
import { SKILLS } from '../../test/helpers';
import { faultReport, SimulatedQueue } from './queue';
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
  startToolServices,
  type FaultReport,
} from './scenario';

/**
 * The fault run on Azure: the agent's Functions handlers (functions/azure/handlers.ts, what the
 * runtime package registers with the host) driven without the host, with real `HttpRequest` and
 * `InvocationContext` objects; job status and audit in Azurite through the real Blob client, events
 * to a loopback Event Grid topic, the Anthropic API as primary and an OpenAI-compatible endpoint as
 * fallback. Service Bus is simulated: a thrown run is abandoned and delivered again at once with
 * its delivery count raised, and dead-lettered after its last. Prints a FaultReport as JSON.
 */

const CONSUMERS = Number(process.env.FAULT_CONSUMERS ?? 40);
/** An abandoned message is available again at once; a short pause keeps the order realistic. */
const ABANDON_DELAY_MS = 100;
const AGENT = 'support';

async function main(): Promise<FaultReport> {
  const tools = await startToolServices();
  const anthropic = await startAnthropicFake((body) => modelTurn(body, 529));
  const openai = await startOpenAiFake((body) => modelTurn(body, 503));
  const topic = await startLoopback(() => ({ status: 200, body: '' }));
  const azurite = await startAzurite();
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  for (const name of ['skills', 'jobs', 'audit']) await service.getContainerClient(name).create();
  await uploadSkills(service.getContainerClient('skills'), SKILLS);

  const config: AgentRuntimeConfig = benchConfig(
    {
      definition: exampleAgent(),
      route: [
        { provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'anthropic-api-key' },
        { provider: 'openai-compatible', model: 'gpt-4.1', baseUrl: `${openai.url}/v1`, apiKeySecret: 'openai-api-key' },
      ],
    },
    tools,
  );
  process.env.ANTHROPIC_BASE_URL = anthropic.url;
  const env = {
    [secretSetting('anthropic-api-key')]: 'bench-anthropic-key',
    [secretSetting('openai-api-key')]: 'bench-openai-key',
    SKILLS_ACCOUNT_URL: 'http://skills.invalid',
    STATE_ACCOUNT_URL: 'http://state.invalid',
    AUDIT_ACCOUNT_URL: 'http://audit.invalid',
    AGENT_TOPIC_ENDPOINT: `${topic.url}/api/events`,
  };
  // In Azure these use the app's managed identity; here Azurite's account and the loopback topic.
  const clients: AzureClients = {
    container: (_url, name) => service.getContainerClient(name),
    topic: (endpoint) => new EventGridPublisher(new EventGridPublisherClient(endpoint, 'EventGrid', new AzureKeyCredential('k'), { allowInsecureConnection: true })),
  };
  const runtime = buildAzureRuntime(config, env, clients);
  const jobsOutput = output.serviceBusQueue({ queueName: '%AGENT_QUEUE%', connection: 'ServiceBusConnection' });
  const handlers = agentHandlers(config, () => runtime, jobsOutput, { maxDeliveries: MAX_RECEIVES });
  // The handlers log each failed delivery; the report counts them instead.
  console.error = () => {};
  console.warn = () => {};
  console.info = () => {};
  console.log = () => {};

  const started = Date.now();
  const queue = new SimulatedQueue({ maxReceives: MAX_RECEIVES, lateDuplicates: LATE_DUPLICATES, redeliveryDelayMs: ABANDON_DELAY_MS });
  const jobIds = new Map<number, string>();
  let concurrentDuplicates = 0;
  let invocations = 0;
  const jobs = Array.from({ length: JOBS }, (_, n) => n);
  await pool(jobs, 20, async (n) => {
    const context = new InvocationContext({ invocationId: `submit-${n}`, functionName: 'submitJob' });
    const request = new HttpRequest({ method: 'POST', url: `https://support.azurewebsites.net/api/agents/${AGENT}/jobs`, body: { string: JSON.stringify({ input: jobInput(n) }) }, params: { name: AGENT } });
    const response = await handlers.submitJob(request, context);
    if (response.status !== 202) throw new Error(`job ${n} refused: ${response.status} ${JSON.stringify(response.jsonBody)}`);
    const message = context.extraOutputs.get(jobsOutput) as JobMessage;
    jobIds.set(n, message.jobId);
    const queued = { id: `sb-${n}`, job: n, body: JSON.stringify(message), attributes: {}, receives: 0 };
    queue.send(queued);
    if (random() < CONCURRENT_DUPLICATES) {
      concurrentDuplicates++;
      queue.send({ ...queued, copy: 'concurrent' });
    }
  });

  let lateThatRan = 0;
  await queue.drain(CONSUMERS, async (message) => {
    const before = modelCalls.get(message.job) ?? 0;
    const context = new InvocationContext({ invocationId: `inv-${++invocations}`, functionName: 'queueMessage', triggerMetadata: { deliveryCount: message.receives, messageId: message.id } });
    // The host hands the function the message parsed from JSON; a throw abandons it.
    await handlers.queueMessage(JSON.parse(message.body), context);
    if (message.copy === 'late' && (modelCalls.get(message.job) ?? 0) > before) lateThatRan++;
    return 'done';
  });

  const records = new Map<string, JobRecord>();
  const container = service.getContainerClient('jobs');
  for await (const blob of container.listBlobsFlat()) {
    const record = JSON.parse((await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8')) as JobRecord;
    records.set(record.jobId, record);
  }
  const published = topic.requests.flatMap((r) => r.body as { eventType: string }[]);
  const report = faultReport({
    cloud: 'Azure',
    runtime: 'this runtime',
    definition: config.definition,
    record: (n) => records.get(jobIds.get(n)!),
    jobs: JOBS,
    queue,
    tools,
    concurrentDuplicates,
    lateDuplicatesThatRan: lateThatRan,
    runFailedEvents: published.filter((e) => e.eventType === 'run.failed').length,
    started,
  });
  await Promise.all([tools.orders.close(), tools.tickets.close(), anthropic.close(), openai.close(), topic.close(), azurite.stop()]);
  return report;
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
