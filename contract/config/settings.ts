/**
 * The names each cloud's constructs set and the runtime reads: environment variables on Lambda,
 * app settings and function names on Azure. One definition, so the two sides cannot drift.
 */

/** The other environment variables AgentFunction sets: names of resources known only at deploy. */
export const RUNTIME_ENV = {
  skillsBucket: 'SKILLS_BUCKET',
  bus: 'AGENT_BUS',
  stateTable: 'STATE_TABLE',
  auditBucket: 'AUDIT_BUCKET',
  /** The agent's queue, where the function puts the jobs the API hands it. */
  queueUrl: 'AGENT_QUEUE_URL',
  /** The agent queue's maxReceiveCount, so the runtime knows a message's last receive. */
  queueMaxReceives: 'AGENT_QUEUE_MAX_RECEIVES',
  /** How the agent reaches the agents it delegates to, as JSON (`AwsPeers`). */
  peers: 'AGENT_PEERS',
  /**
   * Set on a durable agent's starter only: the alias whose executions it starts, one per queued
   * run, named after the run's id.
   */
  durableTarget: 'AGENT_DURABLE_TARGET',
  /**
   * The application inference profiles the agent calls Bedrock through, as JSON: the profile's
   * ARN by the model (or system profile) id its route names. Unset: it calls the models directly.
   */
  modelProfiles: 'AGENT_MODEL_PROFILES',
} as const;

/** How an agent's container host is set up, on either cloud; the constructs set these. */
export const CONTAINER_ENV = {
  /** The port `POST /invocations` and `GET /ping` are served on (AgentCore Runtime's is 8080). */
  port: 'PORT',
  /** Messages a container runs at once. */
  concurrency: 'AGENT_CONCURRENCY',
  /** Seconds the runs under way get to finish once the container is told to stop. */
  graceSeconds: 'AGENT_SHUTDOWN_GRACE_SECONDS',
  /** Seconds one receive from the queue waits for a message (long polling). */
  queueWaitSeconds: 'AGENT_QUEUE_WAIT_SECONDS',
} as const;

/** The alias every trigger of a durable agent on Lambda reaches it through. */
export const DURABLE_ALIAS = 'live';

/** The agents an AWS agent delegates to, by name: the function a call invokes. */
export type AwsPeers = Readonly<Record<string, { readonly function: string }>>;

/**
 * The agents an Azure agent delegates to, by name: the task route a call posts to and the Entra ID
 * audience of its token, and the storage account whose job records and inbox it reads and writes.
 */
export type AzurePeers = Readonly<Record<string, { readonly taskUrl?: string; readonly audience?: string; readonly stateAccountUrl: string; readonly containerPrefix?: string }>>;

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
  /** The agent's own storage account: the host's state and job status, in the containers below. */
  stateAccountUrl: 'STATE_ACCOUNT_URL',
  /** The account of the agent's audit container, where records can be created but not changed. */
  auditAccountUrl: 'AUDIT_ACCOUNT_URL',
  /**
   * What the names of the agent's containers start with, in state and audit accounts it shares
   * with other agents (`<prefix>jobs`, `<prefix>audit`); unset, the accounts are its own.
   */
  containerPrefix: 'AGENT_CONTAINER_PREFIX',
  /** The agent's Service Bus queue; triggers bind to it as `%AGENT_QUEUE%`. */
  queue: 'AGENT_QUEUE',
  /** The queue's max delivery count, so the runtime knows a message's last delivery. */
  queueMaxDeliveries: 'AGENT_QUEUE_MAX_DELIVERIES',
  /** Event Grid's delivery attempts to the agent, so the runtime knows an event's last delivery. */
  eventsMaxDeliveries: 'AGENT_EVENTS_MAX_DELIVERIES',
  /** The connection name the Service Bus trigger and output use. */
  serviceBusConnection: 'ServiceBusConnection',
  /** `function` (keys), `anonymous` (behind Entra ID authentication on the app, or with a stated reason), or `admin` where no HTTP route is served. */
  httpAuthLevel: 'HTTP_AUTH_LEVEL',
  /** The NCRONTAB expression of the agent's i-th schedule trigger, bound as `%SCHEDULE_i%`. */
  schedule: (index: number) => `SCHEDULE_${index}`,
  /** How the agent reaches the agents it delegates to, as JSON (`AzurePeers`). */
  peers: 'AGENT_PEERS',
  /**
   * The logs ingestion URL of the data collection endpoint the agent sends a copy of its audit
   * records to, as rows of the Log Analytics audit table; unset, they stay in Blob storage only.
   */
  auditLogsEndpoint: 'AUDIT_LOGS_ENDPOINT',
  /** The immutable id of the data collection rule whose stream (`AUDIT_LOGS_STREAM`) takes those rows. */
  auditLogsRuleId: 'AUDIT_LOGS_RULE_ID',
} as const;

/** The functions an agent's Function App serves; Event Grid subscriptions name the `events` one. */
// Letters, digits and underscores only in the timer functions' names: a staging slot switches them off
// with an `AzureWebJobs.<name>.Disabled` app setting, and Linux app setting names take no hyphen.
export const AZURE_FUNCTIONS = { invoke: 'invoke', submitJob: 'submit-job', jobStatus: 'job-status', approvals: 'approvals', cancel: 'cancel', task: 'task', queue: 'queue', events: 'events', schedule: (i: number) => `schedule_${i}` } as const;

/**
 * The containers of an Azure agent's state account (job records; the inbox where agents that send
 * it tasks leave inputs too large for a message), and of the runtime package's account.
 */
export const AZURE_STATE_CONTAINERS = { jobs: 'jobs', inbox: 'inbox', package: 'package', durable: 'durable' } as const;

/**
 * The container of an Azure agent's audit account, under a time-based immutability policy; the
 * secure-default checks look for that policy on every container of this name.
 */
export const AZURE_AUDIT_CONTAINER = 'audit';

/**
 * The message of the log line that carries an Azure run's metrics, which the failed-run alert
 * queries in Application Insights.
 */
export const AZURE_RUN_METRICS_MESSAGE = 'agent run metrics';

/**
 * The message of the error line an Azure agent writes when its audit records reached Blob storage
 * but not Log Analytics, with the agent, its cohort and how many records; the operations alert
 * counts these lines.
 */
export const AZURE_AUDIT_INGESTION_FAILED_MESSAGE = 'agent audit ingestion failed';

/**
 * Seconds an Azure agent's function is given past its run's limit, to write its results and give
 * its message back: the host's function timeout and Service Bus lock renewal are the limit plus this.
 */
export const AZURE_AFTER_RUN_SECONDS = 30;

/** What an Azure secret holds until someone sets it: the deployment creates it, never its value. */
export const UNSET_SECRET_VALUE = 'serverless-agents: not set yet';

/**
 * The app setting that carries a model API key on Azure, as a Key Vault reference the platform
 * resolves with the function's identity: the runtime reads a setting, never the vault.
 */
export const secretSetting = (secretName: string) => `SECRET_${secretName.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
