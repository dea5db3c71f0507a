import { Construct } from 'constructs';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../../contract/definition/define';
import { JOB_RETENTION_DAYS } from '../../contract/jobs/job-record';
import { AGENT_CONFIG_ENV, encodeAgentConfig, type AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { AZURE_FUNCTIONS, AZURE_RUNTIME_ENV, AZURE_STATE_CONTAINERS } from '../../contract/config/settings';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import { syncTimeoutSeconds } from '../../contract/definition/sync-timeout';
import { parseToolPolicy, type ToolPolicyInput } from '../../contract/policy/tool-policy';
import { skillProblems } from '../../contract/skills/catalog';
import { eventGridFilter, type AzureAgentEvents } from './agent-events';
import type { AzureAgentQueue } from './agent-queue';
import { assignRole, globalName, privateStorageAccount, storageAccountName } from './defaults';
import { LinuxFunctionApp, StorageContainer, StorageManagementPolicy, UserAssignedIdentity, type ServicePlan, type StorageAccount } from './engine';
import type { AzureModelRouter } from './model-router';
import type { AzureObservability } from './observability';
import type { AzureRuntimePackage } from './runtime-package';
import { toNcrontab } from './schedule';
import type { AzureSkillStore } from './skill-store';
import { AzureSecureDefaults } from './secure-defaults';

const ENV = AZURE_RUNTIME_ENV;

/**
 * Who may call the agent's HTTP routes. Never anonymous unless said so, with the reason.
 * - `function-keys`: a function or host key in `x-functions-key` (the default).
 * - `entra-id`: App Service authentication validates an Entra ID token for the app registration.
 */
export type AzureHttpAuth =
  | { readonly type: 'function-keys' }
  | { readonly type: 'entra-id'; readonly clientId: string; readonly tenantId: string; readonly allowedAudiences?: readonly string[] }
  | { readonly type: 'anonymous'; readonly reason: string };

export interface AzureAgentFunctionProps {
  readonly agent: AgentDefinition | AgentDefinitionInput;
  readonly resourceGroupName: string;
  readonly location: string;
  /** A Linux plan: Consumption (`Y1`) or Dedicated. */
  readonly plan: ServicePlan;
  readonly runtime: AzureRuntimePackage;
  readonly observability: AzureObservability;
  /** Resolves the agent's model and holds its API keys. */
  readonly router: AzureModelRouter;
  /** @default none: the agent must list no skills */
  readonly skills?: AzureSkillStore;
  /** The agent's queue, for `job` and `queue` triggers. @default none */
  readonly queue?: AzureAgentQueue;
  /** Where the agent publishes events and `event` triggers listen. @default none */
  readonly events?: AzureAgentEvents;
  /** The tool policy of the agent's cohort. @default every tool the definition lists */
  readonly toolPolicy?: ToolPolicyInput;
  /** @default function keys */
  readonly auth?: AzureHttpAuth;
  /** The Function App name, unique in Azure. @default derived from the construct path */
  readonly name?: string;
  /** Days a run's audit record is kept. @default 400, a year and a quarter for year-over-year reviews */
  readonly auditRetentionDays?: number;
}


/** Consumption instances stop a function after 10 minutes; the run needs 30 s after its own limit. */
const CONSUMPTION_TIMEOUT_SECONDS = 600;
const AFTER_RUN_SECONDS = 30;

/**
 * An agent on Azure Functions running the shared runtime, configured only by its agent definition:
 * a Linux Function App with its own user-assigned identity, HTTPS only with TLS 1.2, FTP and basic
 * publishing credentials off, telemetry to Application Insights with Entra ID, model keys as Key
 * Vault references, the runtime run from a package in Blob storage, and its own keyless storage for
 * the host, job status and audit. Each role it holds is scoped to one resource.
 */
export class AzureAgentFunction extends Construct {
  readonly definition: AgentDefinition;
  readonly identity: UserAssignedIdentity;
  readonly app: LinuxFunctionApp;
  readonly state: StorageAccount;

  constructor(scope: Construct, id: string, props: AzureAgentFunctionProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const agent = (this.definition = defineAgent(props.agent));
    const schedules = checkWiring(agent, props);
    const route = props.router.route(agent);
    const toolPolicy = parseToolPolicy(agent, props.toolPolicy);
    const config: AgentRuntimeConfig = { definition: agent, route, prices: props.router.prices(route), ...(toolPolicy && { toolPolicy }) };
    const location = { resourceGroupName: props.resourceGroupName, location: props.location };
    const name = props.name ?? globalName(this, 60);

    this.identity = new UserAssignedIdentity(this, 'Identity', { name: `${name}-identity`, ...location });
    const principalId = this.identity.principalId;
    const clientId = this.identity.clientId;

    // The host's storage (leases, keys) plus the agent's job status and audit, reachable by this identity only.
    // Not versioned: the host and job status rewrite their blobs, and every write would leave a version.
    this.state = privateStorageAccount(this, 'State', { name: storageAccountName(this), ...location, versioned: false });
    for (const container of [AZURE_STATE_CONTAINERS.jobs, AZURE_STATE_CONTAINERS.audit]) {
      new StorageContainer(this, `State-${container}`, { name: container, storageAccountId: this.state.id, containerAccessType: 'private' });
    }
    const expire = (container: string, days: number) => ({
      name: `expire-${container}`,
      enabled: true,
      filters: { blobTypes: ['blockBlob'], prefixMatch: [`${container}/`] },
      actions: { baseBlob: { deleteAfterDaysSinceModificationGreaterThan: days } },
    });
    new StorageManagementPolicy(this, 'StateRetention', {
      storageAccountId: this.state.id,
      rule: [expire(AZURE_STATE_CONTAINERS.jobs, JOB_RETENTION_DAYS), expire(AZURE_STATE_CONTAINERS.audit, props.auditRetentionDays ?? 400)],
    });
    // The app needs these two before it starts: it fetches its code and takes its host leases with them.
    const startRoles = [assignRole(this, 'StateOwner', this.state.id, 'Storage Blob Data Owner', principalId), props.runtime.grantRead(principalId, agent.name)];
    assignRole(this, 'TelemetryPublisher', props.observability.insights.id, 'Monitoring Metrics Publisher', principalId);
    props.router.grantRead(route, principalId, agent.name);

    const settings: Record<string, string> = {
      [AGENT_CONFIG_ENV]: encodeAgentConfig(config),
      [ENV.identityClientId]: clientId,
      [ENV.stateAccountUrl]: this.state.primaryBlobEndpoint,
      WEBSITE_RUN_FROM_PACKAGE: props.runtime.url,
      WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: this.identity.id,
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: clientId,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${clientId};Authorization=AAD`,
      AzureFunctionsJobHost__functionTimeout: duration(agent.limits.timeoutSeconds + AFTER_RUN_SECONDS),
      // Service Bus locks a message for 5 minutes at most; the host renews it for as long as a run may take.
      AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration: duration(agent.limits.timeoutSeconds + AFTER_RUN_SECONDS),
      ...props.router.settings(route),
    };
    if (props.skills && agent.skills.length) {
      props.skills.grantRead(principalId, agent.name);
      settings[ENV.skillsAccountUrl] = props.skills.account.primaryBlobEndpoint;
      settings[ENV.skillsContainer] = props.skills.container.name;
    }
    if (props.events) {
      props.events.grantPublish(principalId, agent.name);
      settings[ENV.topicEndpoint] = props.events.topic.endpoint;
      if (agent.triggers.some((t) => t.type === 'event')) settings[ENV.eventsMaxDeliveries] = String(props.events.maxDeliveryAttempts);
    }
    if (props.queue) {
      props.queue.grantReceive(principalId, agent.name);
      if (agent.triggers.some((t) => t.type === 'job')) props.queue.grantSend(principalId, agent.name);
      settings[ENV.queue] = props.queue.queue.name;
      settings[ENV.queueMaxDeliveries] = String(props.queue.maxDeliveryCount);
      settings[`${ENV.serviceBusConnection}__fullyQualifiedNamespace`] = `${props.queue.namespace.name}.servicebus.windows.net`;
      settings[`${ENV.serviceBusConnection}__credential`] = 'managedidentity';
      settings[`${ENV.serviceBusConnection}__clientId`] = clientId;
    }
    schedules.forEach((expression, i) => (settings[ENV.schedule(i)] = expression));
    const auth = props.auth ?? { type: 'function-keys' };
    if (auth.type === 'anonymous' && auth.reason.trim().length < 10) throw new AgentDefinitionError(agent.name, ['auth: an anonymous entry point needs the reason it is safe']);
    settings[ENV.httpAuthLevel] = auth.type === 'function-keys' ? 'function' : 'anonymous';

    this.app = new LinuxFunctionApp(this, 'App', {
      name,
      ...location,
      servicePlanId: props.plan.id,
      storageAccountName: this.state.name,
      storageUsesManagedIdentity: true,
      // Consumption apps running from a package URL need no Azure Files content share (which would need a key).
      contentShareForceDisabled: true,
      identity: { type: 'UserAssigned', identityIds: [this.identity.id] },
      dependsOn: startRoles,
      keyVaultReferenceIdentityId: this.identity.id,
      httpsOnly: true,
      ftpPublishBasicAuthenticationEnabled: false,
      webdeployPublishBasicAuthenticationEnabled: false,
      functionsExtensionVersion: '~4',
      appSettings: settings,
      // The reason travels with the app, where a reviewer of the plan sees it.
      ...(auth.type === 'anonymous' && { tags: { 'serverless-agents-anonymous-reason': auth.reason } }),
      siteConfig: {
        applicationStack: { nodeVersion: '22' },
        minimumTlsVersion: '1.2',
        scmMinimumTlsVersion: '1.2',
        ftpsState: 'Disabled',
        http2Enabled: true,
        remoteDebuggingEnabled: false,
        applicationInsightsConnectionString: props.observability.insights.connectionString,
      },
      ...(auth.type === 'entra-id' && {
        authSettingsV2: {
          authEnabled: true,
          requireAuthentication: true,
          unauthenticatedAction: 'Return401',
          requireHttps: true,
          defaultProvider: 'azureactivedirectory',
          // Event Grid delivers with the function's system key and no Entra ID token.
          excludedPaths: ['/runtime/webhooks/eventgrid'],
          activeDirectoryV2: {
            clientId: auth.clientId,
            tenantAuthEndpoint: `https://login.microsoftonline.com/${auth.tenantId}/v2.0`,
            allowedAudiences: [...(auth.allowedAudiences ?? [`api://${auth.clientId}`])],
          },
          login: { tokenStoreEnabled: false },
        },
      }),
    });

    if (auth.type === 'anonymous') AzureSecureDefaults.acknowledge(this.app, 'AzureSecure-FunctionAnonymous', auth.reason);
    agent.triggers.forEach((t, i) => {
      if (t.type === 'event') props.events!.subscribe(`${agent.name}-event-${i}`, this.app.id, AZURE_FUNCTIONS.events, t.pattern);
    });
  }

  /** The URL of `POST /agents/{name}/invocations` on this app. */
  get invokeUrl(): string {
    return `https://${this.app.defaultHostname}/api/agents/${this.definition.name}/invocations`;
  }
}

/** The Azure load balancer's idle timeout for HTTP requests to Functions, which no setting raises. */
const AZURE_HTTP_TIMEOUT_SECONDS = 230;

/**
 * Every trigger, tool, skill and limit must be servable on Azure; problems name the agent and the
 * field. Returns the schedules as NCRONTAB.
 */
function checkWiring(agent: AgentDefinition, props: AzureAgentFunctionProps): string[] {
  const problems: string[] = [];
  const schedules: string[] = [];
  agent.triggers.forEach((t, i) => {
    if ((t.type === 'job' || t.type === 'queue') && !props.queue) problems.push(`triggers[${i}]: a "${t.type}" trigger needs an AzureAgentQueue (pass queue)`);
    if (t.type === 'event' && !props.events) problems.push(`triggers[${i}]: an "event" trigger needs AzureAgentEvents (pass events)`);
    if (t.type === 'api' && syncTimeoutSeconds(agent) > AZURE_HTTP_TIMEOUT_SECONDS) {
      problems.push(`triggers[${i}].timeoutSeconds: a synchronous run may take ${syncTimeoutSeconds(agent)} s, but Azure's front end ends HTTP requests at ${AZURE_HTTP_TIMEOUT_SECONDS} s whatever the function does; lower it and give longer work to a job`);
    }
    if (t.type === 'event') {
      try {
        eventGridFilter(t.pattern);
      } catch (e) {
        problems.push(`triggers[${i}].${(e as Error).message}`);
      }
    }
    if (t.type === 'schedule') {
      try {
        schedules.push(toNcrontab(t.expression));
      } catch (e) {
        problems.push(`triggers[${i}].expression: ${(e as Error).message}`);
      }
    }
  });
  agent.tools.forEach((t, i) => {
    if (t.kind === 'function') problems.push(`tools[${i}]: "${t.name}" is a function tool, which invokes AWS Lambda; on Azure make it an http or mcp tool`);
  });
  problems.push(...skillProblems(agent.skills, props.skills?.index, 'AzureSkillStore'));
  const consumption = props.plan.skuNameInput === 'Y1';
  if (consumption && agent.limits.timeoutSeconds + AFTER_RUN_SECONDS > CONSUMPTION_TIMEOUT_SECONDS) {
    problems.push(`limits.timeoutSeconds: ${agent.limits.timeoutSeconds} s is more than a Consumption plan allows (at most ${CONSUMPTION_TIMEOUT_SECONDS - AFTER_RUN_SECONDS} s); use a Dedicated plan or a shorter limit`);
  }
  if (problems.length) throw new AgentDefinitionError(agent.name, problems);
  return schedules;
}

/** Seconds as the host's `hh:mm:ss`. */
function duration(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`;
}
