import { gunzipSync, gzipSync } from 'node:zlib';
import type { ToolPolicy } from '../policy/tool-policy';
import type { AgentDefinition } from './define';

/**
 * Which concrete model a run calls, in the order the router tries them. Cloud-neutral: a secret is
 * named, and the runtime reads it from the cloud's secret store with the function's identity.
 */
export type ModelTargetConfig =
  | { readonly provider: 'bedrock'; readonly model: string }
  | { readonly provider: 'anthropic'; readonly model: string; readonly apiKeySecret: string }
  | { readonly provider: 'openai-compatible'; readonly model: string; readonly baseUrl: string; readonly apiKeySecret?: string };

/** Everything the runtime needs about its agent that is known at synth, in one document. */
export interface AgentRuntimeConfig {
  readonly definition: AgentDefinition;
  /** Ordered model targets for the agent's model under its cohort's policy. */
  readonly route: readonly ModelTargetConfig[];
  /** USD per million tokens for the route's models; a model without a price costs nothing. */
  readonly prices?: Readonly<Record<string, ModelPrice>>;
  /** What the agent's cohort may do with its tools. Omitted: everything the definition lists. */
  readonly toolPolicy?: ToolPolicy;
}

/** USD per million tokens of each kind, for one model. */
export interface ModelPrice {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
  readonly cacheReadPerMTok?: number;
  readonly cacheWritePerMTok?: number;
}

/** The environment variable that carries the encoded runtime config. */
export const AGENT_CONFIG_ENV = 'AGENT_CONFIG';

/** The other environment variables AgentFunction sets: names of resources known only at deploy. */
export const RUNTIME_ENV = {
  skillsBucket: 'SKILLS_BUCKET',
  bus: 'AGENT_BUS',
  stateTable: 'STATE_TABLE',
  auditBucket: 'AUDIT_BUCKET',
  deadLetterQueue: 'DEAD_LETTER_QUEUE_URL',
} as const;

/**
 * The app settings AzureAgentFunction sets and the Azure adapter reads. Service Bus settings use the
 * Functions host's identity-based connection convention (`<connection>__fullyQualifiedNamespace`).
 */
export const AZURE_RUNTIME_ENV = {
  /** The client id of the function's user-assigned identity; `@azure/identity` reads this name. */
  identityClientId: 'AZURE_CLIENT_ID',
  skillsAccountUrl: 'SKILLS_ACCOUNT_URL',
  skillsContainer: 'SKILLS_CONTAINER',
  topicEndpoint: 'AGENT_TOPIC_ENDPOINT',
  /** The agent's own storage account: job status and audit, in the containers below. */
  stateAccountUrl: 'STATE_ACCOUNT_URL',
  /** The agent's Service Bus queue; triggers bind to it as `%AGENT_QUEUE%`. */
  queue: 'AGENT_QUEUE',
  /** The queue's max delivery count, so the runtime knows a message's last delivery. */
  queueMaxDeliveries: 'AGENT_QUEUE_MAX_DELIVERIES',
  /** The connection name the Service Bus trigger and output use. */
  serviceBusConnection: 'ServiceBusConnection',
  /** `function` (keys) or `anonymous` behind Entra ID authentication on the app. */
  httpAuthLevel: 'HTTP_AUTH_LEVEL',
  /** The NCRONTAB expression of the agent's i-th schedule trigger, bound as `%SCHEDULE_i%`. */
  schedule: (index: number) => `SCHEDULE_${index}`,
} as const;

/** The functions an agent's Function App serves; Event Grid subscriptions name the `events` one. */
export const AZURE_FUNCTIONS = { invoke: 'invoke', submitJob: 'submit-job', jobStatus: 'job-status', queue: 'queue', events: 'events', schedule: (i: number) => `schedule-${i}` } as const;

/** The containers of an Azure agent's state account. */
export const AZURE_STATE_CONTAINERS = { jobs: 'jobs', audit: 'audit', package: 'package' } as const;

/** What an Azure secret holds until someone sets it: the deployment creates it, never its value. */
export const UNSET_SECRET_VALUE = 'serverless-agents: not set yet';

/**
 * The app setting that carries a model API key on Azure, as a Key Vault reference the platform
 * resolves with the function's identity: the runtime reads a setting, never the vault.
 */
export const secretSetting = (secretName: string) => `SECRET_${secretName.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/**
 * The keys of an agent's records in the state table. IAM limits each agent to its own prefixes,
 * so the constructs that grant and the runtime that writes must agree on them: one definition.
 */
export const STATE_KEYS = {
  /** Every job record starts with this. */
  jobs: 'job#',
  jobPrefix: (agent: string) => `job#${agent}#`,
  job: (agent: string, jobId: string) => `job#${agent}#${jobId}`,
  /** Powertools idempotency records of the agent start with this. */
  idempotencyPrefix: (agent: string) => `idem#${agent}`,
} as const;

/**
 * Compresses the config for an environment variable: prompts compress well, and Lambda allows
 * 4 KB for all variables together.
 */
export function encodeAgentConfig(config: AgentRuntimeConfig): string {
  return gzipSync(JSON.stringify(config), { level: 9 }).toString('base64');
}

export function decodeAgentConfig(encoded: string): AgentRuntimeConfig {
  return JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8')) as AgentRuntimeConfig;
}
