import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../../contract/definition/define';
import { AZURE_AFTER_RUN_SECONDS, AZURE_FUNCTIONS, AZURE_RUNTIME_ENV } from '../../contract/config/settings';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import { checkRollout, isGradual, type GradualRollout, type RolloutInput } from '../../contract/delivery/rollout';
import { AZURE_ROLLOUT_OUTPUT, STAGING_ONLY_SETTINGS, type AzureRolloutTarget } from '../../contract/delivery/azure-rollout';
import { INVOCATION_MAX_SECONDS } from '../../contract/definition/schema';
import { syncTimeoutSeconds } from '../../contract/definition/sync-timeout';
import { AzureAgentAccess, azureAccessProblems, type AzureAgentAccessProps } from './agent-access';
import type { AzureAgentQueue } from './agent-queue';
import type { AzureAuditStore } from './audit-store';
import type { AzureAuditLogs } from './audit-logs';
import { shareWithCohort, tagCohort } from './cohort-tags';
import { functionsHostId, type FunctionsHostPaths } from './agent-storage';
import { afterRolePropagation, assignRole, globalName } from './defaults';
import { LinuxFunctionApp, LinuxFunctionAppSlot, TerraformOutput, Token, type MonitorScheduledQueryRulesAlertV2, type ServicePlan, type StorageAccount, type StorageContainer, type TerraformResource, type UserAssignedIdentity } from './engine';
import { acknowledgeHttpAuth, assignInvokeRole, httpAuthProblems, httpAuthSettings, type AgentRegistration, type AzureHttpAuth } from './http-auth';
import { UNSAMPLED_RUN_METRICS_SETTINGS, type AzureObservability } from './observability';
import type { AzureRuntimePackage } from './runtime-package';
import { toNcrontab } from './schedule';
import { recordPlan } from './quotas';
import { AzureSecureDefaults } from './secure-defaults';
import { syncTriggers } from './trigger-sync';

export type { AzureHttpAuth } from './http-auth';

const ENV = AZURE_RUNTIME_ENV;

export interface AzureAgentFunctionProps extends AzureAgentAccessProps {
  readonly agent: AgentDefinition | AgentDefinitionInput;
  /** A Linux plan: Consumption (`Y1`), Elastic Premium (`EP1`-`EP3`) or Dedicated. */
  readonly plan: ServicePlan;
  readonly runtime: AzureRuntimePackage;
  readonly observability: AzureObservability;
  /**
   * Who may call the agent's HTTP routes.
   * @default Entra ID, with an app registration created for the agent (the deploying identity
   * needs Microsoft Graph `Application.ReadWrite.OwnedBy` or the Application Developer role);
   * an agent with no `api` or `job` trigger serves no route and gets none
   */
  readonly auth?: AzureHttpAuth;
  /** The Function App name, unique in Azure. @default derived from the construct path */
  readonly name?: string;
  /**
   * Runs the agent may have going at once, to protect model quotas and downstream tools: caps the
   * app's instances (`appScaleLimit`) and each instance's concurrent Service Bus messages and, for
   * an agent with an `api` trigger, HTTP requests, so instances times either stays within it.
   * Needs a Consumption or Elastic Premium plan.
   * @default no limit beyond the plan's own
   */
  readonly maxConcurrency?: number;
  /**
   * Where the alert on failed runs notifies.
   * @default no action group: the alert is visible in Azure Monitor only
   */
  readonly actionGroupId?: string;
  /**
   * How a new version of the agent (its runtime, its definition, its settings) takes its traffic.
   * `canary` and `linear` deploy it to a `staging` slot, and `npm run azure-rollout` swaps it in,
   * watches the agent's run and validation failure rates for `minutes`, and swaps back when one
   * passes its maximum: Functions offers no weighted split of queue and event triggers, so Azure
   * rolls out blue/green with a watched bake instead of by percentage. Needs a plan with slots
   * (Consumption, Elastic Premium, Standard or Premium Dedicated).
   * @default each deploy replaces code and settings at once
   */
  readonly rollout?: RolloutInput;
}

/** Where a new version waits to be swapped in, under a gradual rollout. */
export const STAGING_SLOT = 'staging';

/** Consumption instances stop a function after 10 minutes; the run needs AZURE_AFTER_RUN_SECONDS after its own limit. */
const CONSUMPTION_TIMEOUT_SECONDS = 600;

/**
 * An agent on Azure Functions running the shared runtime, configured only by its agent definition:
 * a Linux Function App with its own user-assigned identity, HTTPS only with TLS 1.2, FTP and basic
 * publishing credentials off, Entra ID in front of its routes, telemetry to Application Insights
 * with Entra ID and an alert on failed runs, model keys as Key Vault references, the runtime run
 * from a package in Blob storage with its triggers synced on every deploy, its own keyless storage
 * for the host and job status, and its audit records where no one can rewrite them. Each role it
 * holds is scoped to one resource, and the app starts only once its roles have taken effect.
 */
export class AzureAgentFunction extends Construct {
  readonly definition: AgentDefinition;
  readonly identity: UserAssignedIdentity;
  readonly app: LinuxFunctionApp;
  readonly state: StorageAccount;
  /** The container of its job records, in its state account. */
  readonly jobs: StorageContainer;
  /** The container where the agents that send it jobs and hand-offs leave inputs too large for a message. */
  readonly inbox?: StorageContainer;
  readonly queue?: AzureAgentQueue;
  readonly audit: AzureAuditStore;
  /** Tells Azure the app's functions after each deploy; what depends on them registered waits for it. */
  readonly triggerSync: TerraformResource;
  readonly failedRunAlert: MonitorScheduledQueryRulesAlertV2;
  /** The audience callers request an Entra ID token for, when Entra ID guards the routes. */
  readonly tokenAudience?: string;
  private readonly registration?: AgentRegistration;
  /** Its identity, state, audit and roles, and the grants others get on them. */
  readonly access: AzureAgentAccess;
  /** Every role its identity holds, which the app waits for: its own, then those its team grants. */
  private readonly roles: TerraformResource[];
  /** The slot a gradual rollout deploys new versions to, before `npm run azure-rollout` swaps them in. */
  readonly stagingSlot?: LinuxFunctionAppSlot;
  /** The agent's gradual rollout, as checked. */
  readonly rollout?: GradualRollout;
  /** The app's settings and, under a gradual rollout, its staging slot's: what `sendAuditTo` adds to. */
  private readonly appSettings: Record<string, string>[] = [];

  constructor(scope: Construct, id: string, props: AzureAgentFunctionProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const agent = (this.definition = defineAgent(props.agent));
    const { schedules, scale, rollout } = checkWiring(agent, props);
    const location = { resourceGroupName: props.resourceGroupName, location: props.location };
    const name = props.name ?? globalName(this, 60);

    const access = (this.access = new AzureAgentAccess(this, agent, props, name));
    const team = access.membership;
    this.identity = access.identity;
    const clientId = this.identity.clientId;
    this.state = access.state;
    this.jobs = access.jobs;
    if (access.inbox) this.inbox = access.inbox;
    if (props.queue) this.queue = props.queue;
    this.audit = access.audit;

    const settings: Record<string, string> = {
      ...access.settings,
      WEBSITE_RUN_FROM_PACKAGE: props.runtime.url,
      WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: this.identity.id,
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: clientId,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${clientId};Authorization=AAD`,
      ...UNSAMPLED_RUN_METRICS_SETTINGS,
      AzureFunctionsJobHost__functionTimeout: duration(invocationSeconds(agent, props.plan.skuNameInput === 'Y1') + AZURE_AFTER_RUN_SECONDS),
      // Service Bus locks a message for 5 minutes at most; the host renews it for as long as a run may take.
      AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration: duration(invocationSeconds(agent, props.plan.skuNameInput === 'Y1') + AZURE_AFTER_RUN_SECONDS),
      ...props.router.settings(access.route),
    };
    // Event Grid delivers its events to the app's own function, which knows the last delivery by this.
    if (props.events && agent.triggers.some((t) => t.type === 'event')) settings[ENV.eventsMaxDeliveries] = String(props.events.maxDeliveryAttempts);
    if (scale) {
      settings.AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls = String(scale.runsPerInstance);
      // Job submissions and status reads share the cap; a caller over it gets a 429 to retry.
      if (agent.triggers.some((t) => t.type === 'api')) settings.AzureFunctionsJobHost__extensions__http__maxConcurrentRequests = String(scale.runsPerInstance);
    }
    // In an account other apps share, the host's leases are kept under an id no other app has
    // (by default its name cut to 32 characters, which apps with a common start share).
    const host = access.shared && { hostId: functionsHostId(name), appName: name };
    if (host) settings.AzureFunctionsWebHost__hostid = host.hostId;
    // A staging slot is a host of its own: its leases under its own id, its keys under `<app>-staging`.
    const hosts = host ? [host, ...(rollout ? [stagingHost(name)] : [])] : undefined;
    this.roles = [...this.hostRoles(agent, props, hosts), ...access.roles];
    schedules.forEach((expression, i) => (settings[ENV.schedule(i)] = expression));
    // The agents that may send it tasks call its task route.
    const servesHttp = agent.triggers.some((t) => t.type === 'api' || t.type === 'job') || !!team?.callers.length;
    const http = httpAuthSettings(this, agent.name, name, props.auth, servesHttp);
    settings[ENV.httpAuthLevel] = http.authLevel;
    if (http.tokenAudience) this.tokenAudience = http.tokenAudience;
    if (http.registration) this.registration = http.registration;

    const site = {
      storageAccountName: this.state.name,
      storageUsesManagedIdentity: true,
      // Consumption apps running from a package URL need no Azure Files content share (which would need a key).
      contentShareForceDisabled: true,
      identity: { type: 'UserAssigned', identityIds: [this.identity.id] },
      // It fetches its code, takes its host leases and resolves its Key Vault references as it
      // starts: only once every role of its identity has taken effect.
      dependsOn: [afterRolePropagation(this, 'RolesPropagated', this.roles)],
      keyVaultReferenceIdentityId: this.identity.id,
      httpsOnly: true,
      ftpPublishBasicAuthenticationEnabled: false,
      webdeployPublishBasicAuthenticationEnabled: false,
      functionsExtensionVersion: '~4',
      appSettings: settings,
      // A keys or anonymous choice's reason travels with the app, where a reviewer of the plan sees it.
      ...(http.tags && { tags: { ...http.tags } }),
      siteConfig: {
        applicationStack: { nodeVersion: '22' },
        minimumTlsVersion: '1.2',
        scmMinimumTlsVersion: '1.2',
        ftpsState: 'Disabled',
        http2Enabled: true,
        remoteDebuggingEnabled: false,
        applicationInsightsConnectionString: props.observability.insights.connectionString,
        ...(scale && { appScaleLimit: scale.instances }),
      },
      ...(http.authSettingsV2 && { authSettingsV2: http.authSettingsV2 }),
    };
    // Under a gradual rollout, production takes new settings and code only by a swap from staging.
    const staged = rollout && staging(agent, schedules.length, name, settings);
    this.appSettings.push(settings, ...(staged ? [staged.settings] : []));
    this.app = new LinuxFunctionApp(this, 'App', {
      name,
      ...location,
      servicePlanId: props.plan.id,
      ...site,
      ...(staged && { stickySettings: { appSettingNames: staged.sticky }, lifecycle: { ignoreChanges: ['app_settings'] } }),
    });
    if (rollout && staged) {
      this.rollout = rollout;
      this.stagingSlot = new LinuxFunctionAppSlot(this, 'Staging', { ...site, name: STAGING_SLOT, functionAppId: this.app.id, appSettings: staged.settings });
      recordPlan(this.stagingSlot, props.plan);
      acknowledgeHttpAuth(this.stagingSlot, props.auth);
      // What `npm run azure-rollout` reads from `cdktf deploy --outputs-file` to swap and watch it.
      const target: AzureRolloutTarget = {
        kind: AZURE_ROLLOUT_OUTPUT,
        agent: agent.name,
        app: name,
        resourceGroup: props.resourceGroupName,
        insightsAppId: props.observability.insights.appId,
        minutes: rollout.strategy === 'linear' ? rollout.minutes * 10 : rollout.minutes,
        maxRunFailureRate: rollout.maxRunFailureRate,
        maxValidationFailureRate: rollout.maxValidationFailureRate,
      };
      new TerraformOutput(this, 'Rollout', { value: target, description: `How agent ${agent.name}'s staged version is swapped in and watched` });
    }
    acknowledgeHttpAuth(this.app, props.auth);
    recordPlan(this.app, props.plan);

    this.triggerSync = syncTriggers(this, this.app, props.runtime.url);
    agent.triggers.forEach((t, i) => {
      if (t.type === 'event') props.events!.subscribe(`${agent.name}-event-${i}`, this.app.id, AZURE_FUNCTIONS.events, t.pattern, [this.triggerSync], this);
    });
    this.failedRunAlert = props.observability.alertOnFailedRuns(agent.name, { owner: this, ...(props.actionGroupId && { actionGroupId: props.actionGroupId }) });
    props.team?.join(this);
    // What the agent alone is billed for carries its cohort, which the cohort's budget filters on.
    tagCohort(this, agent.cohort);
    shareWithCohort(props.plan, agent.cohort);
  }

  /** Where its runtime copies its audit records to query them in Log Analytics, if it does. */
  get auditLogs(): AzureAuditLogs | undefined {
    return this.access.auditLogs;
  }

  /**
   * Makes its runtime also send each audit record to `logs`, after Blob storage, as the
   * `auditLogs` prop does for an agent built with it: the app's settings name the rule, and its
   * identity gets Monitoring Metrics Publisher on it, which the app waits for.
   */
  sendAuditTo(logs: AzureAuditLogs): void {
    if (this.access.auditLogs === logs) return;
    const settings: Record<string, string> = {};
    this.roles.push(this.access.sendAuditTo(logs, settings));
    for (const appSettings of this.appSettings) Object.assign(appSettings, settings);
  }

  /** The URL of `POST /agents/{name}/invocations` on this app. */
  get invokeUrl(): string {
    return `https://${this.app.defaultHostname}/api/agents/${this.definition.name}/invocations`;
  }

  /** The URL of `POST /agents/{name}/tasks`, where the agents of its team call it. */
  get taskUrl(): string {
    return `https://${this.app.defaultHostname}/api/agents/${this.definition.name}/tasks`;
  }

  /** Lets an identity get Entra ID tokens for this agent's routes: its registration's `Agent.Invoke` app role. */
  grantInvoke(principal: AzurePrincipal, id: string): TerraformResource {
    if (!this.registration) {
      throw new AgentDefinitionError(this.definition.name, ['auth: only Entra ID names its callers, and this agent is not behind it, so no identity can be given the right to call it']);
    }
    return assignInvokeRole(this, `Invoker-${id}`, this.registration, principal);
  }

  /** Lets an identity read this agent's job records (to await a job it gave the agent), and nothing else of its state. */
  grantReadJobs(principal: AzurePrincipal, id: string): TerraformResource {
    return this.access.grantReadJobs(principal, id);
  }

  /** Lets an identity leave task inputs in this agent's inbox, and nothing else of its state. */
  grantInbox(principal: AzurePrincipal, id: string): TerraformResource {
    return this.access.grantInbox(principal, id);
  }

  /**
   * Makes the app start only once `role`, granted to its identity after it was built (by its
   * team), has taken effect, as it does for the roles it grants itself.
   */
  waitsFor(role: TerraformResource): void {
    this.roles.push(role);
  }

  /** The roles the Function App itself needs to run, beside those of the agent (AzureAgentAccess). */
  private hostRoles(agent: AgentDefinition, props: AzureAgentFunctionProps, host?: readonly FunctionsHostPaths[]): TerraformResource[] {
    const principal = this.identity;
    const { shared } = this.access;
    return [
      // The host's leases and keys, and job status: the account, or in a shared one its own paths.
      shared ? shared.storage.grantState(this, 'StateOwner', agent.name, principal, host) : assignRole(this, 'StateOwner', this.state.id, 'Storage Blob Data Owner', principal),
      // The Durable Functions Storage backend keeps its task hub in the host's account: work
      // items and control messages in queues, history and instances in tables.
      ...(agent.durable
        ? [assignRole(this, 'TaskHubQueues', this.state.id, 'Storage Queue Data Contributor', principal), assignRole(this, 'TaskHubTables', this.state.id, 'Storage Table Data Contributor', principal)]
        : []),
      props.runtime.grantRead(principal, agent.name),
      assignRole(this, 'TelemetryPublisher', props.observability.insights.id, 'Monitoring Metrics Publisher', principal, props.observability.insights),
    ];
  }
}

/**
 * The staging slot's settings: production's, with the functions that take work from a queue, a
 * schedule or the event topic switched off (they would run beside production's), its own host id,
 * and for a durable agent its own task hub; each of these is sticky, so it stays with its slot
 * across a swap and production never takes them.
 */
function staging(agent: AgentDefinition, schedules: number, name: string, settings: Record<string, string>): { settings: Record<string, string>; sticky: string[] } {
  const off = [AZURE_FUNCTIONS.queue, AZURE_FUNCTIONS.events, ...Array.from({ length: schedules }, (_, i) => AZURE_FUNCTIONS.schedule(i))];
  const own: Record<string, string> = {
    ...Object.fromEntries(off.map((fn) => [STAGING_ONLY_SETTINGS.disabled(fn), 'true'])),
    [STAGING_ONLY_SETTINGS.hostId]: stagingHost(name).hostId,
    ...(agent.durable && { [STAGING_ONLY_SETTINGS.taskHub]: `${agent.name.replace(/[^A-Za-z0-9]/g, '')}${STAGING_SLOT}`.slice(0, 45) }),
  };
  return { settings: { ...settings, ...own }, sticky: Object.keys(own) };
}

/** The Functions host of an app's staging slot: its own host id, and the unique slot name the host keeps its keys under. */
const stagingHost = (name: string): FunctionsHostPaths => ({ hostId: functionsHostId(`${name}-${STAGING_SLOT}`), appName: `${name}-${STAGING_SLOT}` });

/**
 * How long one invocation may take: a run's whole limit, or for a durable agent (whose run spans
 * many invocations, one per step) at most the plan's function timeout, or 15 minutes.
 */
function invocationSeconds(agent: AgentDefinition, consumption: boolean): number {
  if (!agent.durable) return agent.limits.timeoutSeconds;
  return Math.min(agent.limits.timeoutSeconds, consumption ? CONSUMPTION_TIMEOUT_SECONDS - AZURE_AFTER_RUN_SECONDS : INVOCATION_MAX_SECONDS);
}

/** The Azure load balancer's idle timeout for HTTP requests to Functions, which no setting raises. */
const AZURE_HTTP_TIMEOUT_SECONDS = 230;

/** Runs an instance takes at once unless told: the runtime's host.json sets Service Bus's maxConcurrentCalls to this. */
const RUNS_PER_INSTANCE = 4;
/** Instances a Linux Consumption or Elastic Premium app scales out to at most. */
const MAX_INSTANCES = 100;
/** Instances and runs per instance whose product is as close to `maxConcurrency` as it can be without passing it. */
function scaleWithin(maxConcurrency: number): { instances: number; runsPerInstance: number } {
  const instances = Math.min(MAX_INSTANCES, Math.ceil(maxConcurrency / RUNS_PER_INSTANCE));
  return { instances, runsPerInstance: Math.floor(maxConcurrency / instances) };
}

/**
 * Every trigger, tool, skill, limit and setting must be servable on Azure; problems name the agent
 * and the field. Returns the schedules as NCRONTAB, and the scale that keeps within maxConcurrency.
 */
function checkWiring(agent: AgentDefinition, props: AzureAgentFunctionProps): { schedules: string[]; scale?: { instances: number; runsPerInstance: number }; rollout?: GradualRollout } {
  const problems = azureAccessProblems(agent, props, 'function');
  const schedules: string[] = [];
  agent.triggers.forEach((t, i) => {
    if (t.type === 'api' && syncTimeoutSeconds(agent) > AZURE_HTTP_TIMEOUT_SECONDS) {
      problems.push(`triggers[${i}].timeoutSeconds: a synchronous run may take ${syncTimeoutSeconds(agent)} s, but Azure's front end ends HTTP requests at ${AZURE_HTTP_TIMEOUT_SECONDS} s whatever the function does; lower it and give longer work to a job`);
    }
    if (t.type === 'schedule') {
      try {
        schedules.push(toNcrontab(t.expression));
      } catch (e) {
        problems.push(`triggers[${i}].expression: ${(e as Error).message}`);
      }
    }
  });
  const consumption = props.plan.skuNameInput === 'Y1';
  if (consumption && !agent.durable && agent.limits.timeoutSeconds + AZURE_AFTER_RUN_SECONDS > CONSUMPTION_TIMEOUT_SECONDS) {
    problems.push(`limits.timeoutSeconds: ${agent.limits.timeoutSeconds} s is more than a Consumption plan allows (at most ${CONSUMPTION_TIMEOUT_SECONDS - AZURE_AFTER_RUN_SECONDS} s); use a Dedicated plan or a shorter limit`);
  }
  if (props.auth) problems.push(...httpAuthProblems(props.auth));
  // The approver is who App Service authentication says called; without it, a header anyone can send.
  if (props.auth && props.auth.type !== 'entra-id' && agent.tools.some((t) => t.approval)) {
    problems.push(`auth: "${props.auth.type}" names no caller, and tools[${agent.tools.findIndex((t) => t.approval)}] needs an approver's identity: approvals need Entra ID (the default)`);
  }
  const max = props.maxConcurrency;
  const sku = props.plan.skuNameInput;
  if (max !== undefined) {
    if (!(Number.isInteger(max) && max >= 1 && max <= 1000)) problems.push(`maxConcurrency: must be a whole number of runs from 1 to 1000; got ${max}`);
    if (sku !== undefined && !Token.isUnresolved(sku) && sku !== 'Y1' && !/^EP\d$/.test(sku)) {
      problems.push(`maxConcurrency: caps instances with appScaleLimit, which only Consumption (Y1) and Elastic Premium (EP1-EP3) plans honour; the plan is ${sku}`);
    }
  }
  const checked = checkRollout(props.rollout);
  problems.push(...checked.problems);
  const rollout = isGradual(checked.rollout) ? checked.rollout : undefined;
  if (rollout && sku !== undefined && !Token.isUnresolved(sku) && !SLOT_PLANS.test(sku)) {
    problems.push(`rollout: a gradual rollout deploys to a staging slot, which the plan ${sku} does not have (Consumption Y1, Elastic Premium EP1-EP3, and Standard, Premium or Isolated Dedicated plans do; Flex Consumption, Free and Basic do not)`);
  }
  if (problems.length) throw new AgentDefinitionError(agent.name, problems);
  return { schedules, ...(max !== undefined && { scale: scaleWithin(max) }), ...(rollout && { rollout }) };
}

/** The App Service plans with deployment slots beside production. */
const SLOT_PLANS = /^(Y1|EP[1-3]|S[1-3]|P\d+(v[23]|mv3)?|I\d+(v2)?)$/;

/** Seconds as the host's `hh:mm:ss`. */
function duration(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`;
}
