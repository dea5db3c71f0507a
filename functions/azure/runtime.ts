import { EventGridPublisherClient } from '@azure/eventgrid';
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { AZURE_RUNTIME_ENV, AZURE_STATE_CONTAINERS, secretSetting, UNSET_SECRET_VALUE } from '../../contract/config/settings';
import { type AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { OPEN_TOOL_POLICY } from '../../contract/policy/tool-denial';
import { Agent } from '../core/agent/agent';
import type { AuditSink } from '../core/audit/records';
import { NO_EVENTS, type EventPublisher } from '../core/events/events';
import { providerFactory } from '../core/models/providers';
import { ModelRouter } from '../core/models/router';
import { AgentSkills } from '../core/skills/skills';
import { CachedSkillStore } from '../core/skills/store';
import type { MetricsSink, MetricUnit, RunMetric } from '../core/telemetry/metrics';
import { HttpToolTransport } from '../core/tools/http';
import { McpToolTransport } from '../core/tools/mcp';
import { BlobSkillStore } from './blob-skill-store';
import { BlobAuditSink, BlobJobStore } from './blob-state';
import { EventGridPublisher } from './eventgrid-publisher';

const ENV = AZURE_RUNTIME_ENV;

/** One Function App instance's agent and the adapters around it, built on the first invocation. */
export interface AzureRuntime {
  readonly config: AgentRuntimeConfig;
  readonly agent: Agent;
  readonly events: EventPublisher;
  readonly jobs?: BlobJobStore;
}

/**
 * How the runtime reaches Azure. In Azure every client uses the function's user-assigned managed
 * identity; tests replace these with clients for Azurite and loopback fakes.
 */
export interface AzureClients {
  container(accountUrl: string, name: string): ContainerClient;
  topic(endpoint: string): EventPublisher;
}

export function managedIdentityClients(env: NodeJS.ProcessEnv = process.env): AzureClients {
  const clientId = env[ENV.identityClientId];
  let credential: TokenCredential | undefined;
  const identity = () => (credential ??= clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential());
  // One client per account: the state account's job and audit containers share its connections.
  const accounts = new Map<string, BlobServiceClient>();
  const account = (url: string) => accounts.get(url) ?? accounts.set(url, new BlobServiceClient(url, identity())).get(url)!;
  return {
    container: (accountUrl, name) => account(accountUrl).getContainerClient(name),
    topic: (endpoint) => new EventGridPublisher(new EventGridPublisherClient(endpoint, 'EventGrid', identity())),
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

export async function buildAzureRuntime(config: AgentRuntimeConfig, env: NodeJS.ProcessEnv = process.env, clients: AzureClients = managedIdentityClients(env)): Promise<AzureRuntime> {
  const { definition } = config;
  const httpHosts = definition.tools.flatMap((t) => (t.kind === 'http' ? [new URL(t.url).host] : []));
  const skillsAccount = env[ENV.skillsAccountUrl];
  const skills = await AgentSkills.open(
    new CachedSkillStore(skillsAccount ? new BlobSkillStore(clients.container(skillsAccount, env[ENV.skillsContainer] ?? 'skills')) : { read: async () => undefined }),
    definition.skills,
  );
  const topic = env[ENV.topicEndpoint];
  const events = topic ? clients.topic(topic) : NO_EVENTS;
  const stateAccount = env[ENV.stateAccountUrl];
  const audit: AuditSink = stateAccount ? new BlobAuditSink(clients.container(stateAccount, AZURE_STATE_CONTAINERS.audit)) : { write: async () => {} };
  const agent = new Agent(definition, {
    router: new ModelRouter(config.route, providerFactory({ region: env.AWS_REGION ?? 'us-east-1', secret: appSettingSecrets(env) })),
    skills,
    // Function tools call AWS Lambda; AzureAgentFunction refuses them at synth.
    transports: { http: new HttpToolTransport(httpHosts), mcp: new McpToolTransport() },
    audit,
    metrics: new LogMetrics(definition.name, definition.cohort),
    prices: config.prices ?? {},
    toolPolicy: config.toolPolicy ?? OPEN_TOOL_POLICY,
    ...(topic && { events }),
  });
  return { config, agent, events, ...(stateAccount && { jobs: new BlobJobStore(clients.container(stateAccount, AZURE_STATE_CONTAINERS.jobs)) }) };
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
    this.write(JSON.stringify({ message: 'agent run metrics', agent: this.agent, cohort: this.cohort, metrics: this.values }));
    this.values = {};
  }
}
