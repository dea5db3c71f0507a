import { EventGridPublisherClient } from '@azure/eventgrid';
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { LogsIngestionClient } from '@azure/monitor-ingestion';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { AZURE_AUDIT_CONTAINER, AZURE_RUN_METRICS_MESSAGE, AZURE_RUNTIME_ENV, AZURE_STATE_CONTAINERS, secretSetting, UNSET_SECRET_VALUE } from '../../contract/config/settings';
import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import type { EventPublisher } from '../core/events/events';
import type { MetricsSink, MetricUnit, RunMetric } from '../core/telemetry/metrics';
import { assembleRuntime, type Runtime } from '../entry/assemble';
import { BlobSkillStore } from './blob-skill-store';
import { BlobAuditSink, BlobJobStore, BlobTaskInbox } from './blob-state';
import { durableStoreOf } from '../entry/checkpoints';
import { AzureDelegates, parsePeers } from './delegates';
import { EventGridPublisher } from './eventgrid-publisher';
import { CopiedAuditSink, LogsIngestionAuditSink } from './logs-ingestion-audit';

const ENV = AZURE_RUNTIME_ENV;

/** One Function App instance's agent and the adapters around it, built on the first invocation. */
export type AzureRuntime = Runtime;

/**
 * How the runtime reaches Azure. In Azure every client uses the function's user-assigned managed
 * identity; tests replace these with clients for Azurite and loopback fakes.
 */
export interface AzureClients {
  container(accountUrl: string, name: string): ContainerClient;
  topic(endpoint: string): EventPublisher;
  /** The topic's client, through which tasks for other agents are published. @default one with the managed identity */
  taskTopic?(endpoint: string): Pick<EventGridPublisherClient<'EventGrid'>, 'send'>;
  /** Where tokens for the task routes of the agents this one calls come from. @default the managed identity */
  readonly credential?: TokenCredential;
  /** How those task routes are called. @default the global fetch */
  readonly fetch?: typeof fetch;
  /** The Logs Ingestion API of a data collection endpoint, where audit records are copied to Log Analytics. @default one with the managed identity */
  logsIngestion?(endpoint: string): Pick<LogsIngestionClient, 'upload'>;
}

export function managedIdentityClients(env: NodeJS.ProcessEnv = process.env): Required<Omit<AzureClients, 'fetch'>> {
  const clientId = env[ENV.identityClientId];
  let credential: TokenCredential | undefined;
  const identity = () => (credential ??= clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential());
  // One client per account, whose containers share its connections.
  const accounts = new Map<string, BlobServiceClient>();
  const account = (url: string) => accounts.get(url) ?? accounts.set(url, new BlobServiceClient(url, identity())).get(url)!;
  return {
    container: (accountUrl, name) => account(accountUrl).getContainerClient(name),
    topic: (endpoint) => new EventGridPublisher(new EventGridPublisherClient(endpoint, 'EventGrid', identity())),
    taskTopic: (endpoint) => new EventGridPublisherClient(endpoint, 'EventGrid', identity()),
    // Two retries, not the SDK's three with waits up to a minute: the copy is made as the run ends.
    logsIngestion: (endpoint) => new LogsIngestionClient(endpoint, identity(), { retryOptions: { maxRetries: 2 } }),
    // Asked for a token only when a call is made: building the runtime reaches no identity endpoint.
    credential: { getToken: (scopes, options) => identity().getToken(scopes, options) },
  };
}

/**
 * Model API keys as the platform hands them over: Key Vault references resolved into app settings
 * with the function's identity, so the runtime never calls the vault.
 */
export function appSettingSecrets(env: NodeJS.ProcessEnv): (name: string) => Promise<string> {
  return async (name) => {
    const value = env[secretSetting(name)];
    if (!value) throw new Error(`secret ${name} is not in app setting ${secretSetting(name)}: grant it through the AzureModelRouter`);
    if (value.startsWith('@Microsoft.KeyVault(')) throw new Error(`app setting ${secretSetting(name)} is an unresolved Key Vault reference: check the identity's read on the secret`);
    if (value === UNSET_SECRET_VALUE) {
      throw new Error(`secret ${name} still holds the deployment's placeholder: set it with az keyvault secret set --name ${name}, then restart the app (it caches Key Vault references)`);
    }
    return value;
  };
}

/** Builds the agent with the Azure adapters the app's settings name; on the first invocation. */
export async function buildAzureRuntime(config: AgentRuntimeConfig, env: NodeJS.ProcessEnv = process.env, clients: AzureClients = managedIdentityClients(env)): Promise<AzureRuntime> {
  const { definition } = config;
  const skillsAccount = env[ENV.skillsAccountUrl];
  const topic = env[ENV.topicEndpoint];
  const stateAccount = env[ENV.stateAccountUrl];
  const auditAccount = env[ENV.auditAccountUrl];
  const auditLogs = env[ENV.auditLogsEndpoint] && env[ENV.auditLogsRuleId] ? { endpoint: env[ENV.auditLogsEndpoint]!, ruleId: env[ENV.auditLogsRuleId]! } : undefined;
  const peers = env[ENV.peers] ? parsePeers(env[ENV.peers]!) : undefined;
  // In accounts shared with other agents, the agent's containers carry its prefix.
  const prefix = env[ENV.containerPrefix] ?? '';
  // The agent's own inbox is in its state account; another agent's in that agent's.
  const inboxAccount = (agent: string) => {
    const own = agent === definition.name;
    const url = own ? stateAccount : peers?.[agent]?.stateAccountUrl;
    if (!url) throw new Error(`agent ${definition.name} has no way to the inbox of agent ${agent} (${own ? ENV.stateAccountUrl : ENV.peers})`);
    return clients.container(url, `${own ? prefix : (peers![agent]!.containerPrefix ?? '')}${AZURE_STATE_CONTAINERS.inbox}`);
  };
  const inbox = stateAccount || peers ? new BlobTaskInbox(inboxAccount) : undefined;
  let defaults: ReturnType<typeof managedIdentityClients> | undefined;
  const fallback = () => (defaults ??= managedIdentityClients(env));
  // Blob storage holds the record of truth; Log Analytics, when the app names it, a copy to query.
  const blobAudit = auditAccount ? new BlobAuditSink(clients.container(auditAccount, `${prefix}${AZURE_AUDIT_CONTAINER}`)) : undefined;
  const logsAudit = auditLogs && new LogsIngestionAuditSink((clients.logsIngestion ?? fallback().logsIngestion)(auditLogs.endpoint), auditLogs.ruleId);
  const audit = blobAudit && logsAudit ? new CopiedAuditSink(blobAudit, logsAudit, definition) : (blobAudit ?? logsAudit);
  // Function tools call AWS Lambda; AzureAgentFunction refuses them at synth, so no invoker here.
  return assembleRuntime(config, {
    ...(skillsAccount && { skills: new BlobSkillStore(clients.container(skillsAccount, env[ENV.skillsContainer] ?? 'skills')) }),
    ...(topic && { events: clients.topic(topic) }),
    // Audit lives in an account of its own, whose container refuses to change or delete a record.
    ...(audit && { audit }),
    ...(stateAccount && { jobs: new BlobJobStore(clients.container(stateAccount, `${prefix}${AZURE_STATE_CONTAINERS.jobs}`)) }),
    ...(inbox && { inbox }),
    // What a durable run keeps by reference: its own container, which no other agent is granted.
    ...(stateAccount && definition.durable && { durable: durableStoreOf(new BlobTaskInbox(() => clients.container(stateAccount, `${prefix}${AZURE_STATE_CONTAINERS.durable}`)), definition.name) }),
    ...(peers && {
      delegates: new AzureDelegates({
        peers,
        container: (url, name) => clients.container(url, name),
        ...(topic && { topic: (clients.taskTopic ?? fallback().taskTopic)(topic) }),
        inbox: inbox!,
        credential: clients.credential ?? fallback().credential,
        ...(clients.fetch && { fetch: clients.fetch }),
      }),
    }),
    metrics: new LogMetrics(definition.name, definition.cohort),
    // Spend on models Azure does not bill is counted as ExternalCostUsd, which no Azure budget sees.
    cloud: 'azure',
    secret: appSettingSecrets(env),
  });
}

/**
 * Run metrics as one structured log line per run: the Functions host sends it to Application
 * Insights, where `customDimensions` queries chart it by agent and cohort.
 */
export class LogMetrics implements MetricsSink {
  private values: Record<string, { unit: MetricUnit; value: number }> = {};

  constructor(
    private readonly agent: string,
    private readonly cohort: string,
    private readonly write: (line: string) => void = (line) => console.log(line),
  ) {}

  add(name: RunMetric, unit: MetricUnit, value: number): void {
    const previous = this.values[name];
    this.values[name] = { unit, value: (previous?.value ?? 0) + value };
  }

  flush(): void {
    if (!Object.keys(this.values).length) return;
    this.write(JSON.stringify({ message: AZURE_RUN_METRICS_MESSAGE, agent: this.agent, cohort: this.cohort, metrics: this.values }));
    this.values = {};
  }
}
