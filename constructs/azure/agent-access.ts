import type { AzurePrincipal } from './defaults';
import type { Construct } from 'constructs';
import { AGENT_CONFIG_ENV, encodeAgentConfig, type AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { AZURE_RUNTIME_ENV, AZURE_STATE_CONTAINERS } from '../../contract/config/settings';
import { recordRetentionSeconds } from '../../contract/jobs/job-record';
import { AgentDefinitionError, type AgentDefinition } from '../../contract/definition/define';
import { PLACEMENT_LIMITS, type Placement } from '../../contract/placement/placement';
import { parseToolPolicy, type ToolPolicyInput } from '../../contract/policy/tool-policy';
import { skillProblems } from '../../contract/skills/catalog';
import { eventGridFilter, type AzureAgentEvents } from './agent-events';
import type { AzureAgentQueue } from './agent-queue';
import type { AzureAgentTeam, AzureTeamMembership } from './agent-team';
import { AzureAuditStore } from './audit-store';
import type { AzureAuditLogs } from './audit-logs';
import type { AzureAgentStorage } from './agent-storage';
import { assignRole, privateStorageAccount, storageAccountName } from './defaults';
import { ExpiryRules } from './expiry-rules';
import { StorageContainer, UserAssignedIdentity, type StorageAccount, type TerraformResource } from './engine';
import type { AzureHttpAuth } from './http-auth';
import type { AzureModelRouter } from './model-router';
import { checkAzureQuotas } from './quotas';
import type { AzureSkillStore } from './skill-store';

const ENV = AZURE_RUNTIME_ENV;

/** The platform's parts an agent's runtime reaches on Azure, whatever hosts it. */
export interface AzureAgentAccessProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** Resolves the agent's model and holds its API keys. */
  readonly router: AzureModelRouter;
  /** @default none: the agent must list no skills */
  readonly skills?: AzureSkillStore;
  /** The agent's queue, for `job` and `queue` triggers. @default none */
  readonly queue?: AzureAgentQueue;
  /** Where the agent publishes events and `event` triggers listen. @default none */
  readonly events?: AzureAgentEvents;
  /**
   * The team of agents this one delegates to, hands off to or takes tasks from: it joins the team,
   * which wires it to the others as their definitions say.
   * @default none: the agent neither sends nor takes tasks
   */
  readonly team?: AzureAgentTeam;
  /** The tool policy of the agent's cohort. @default every tool the definition lists */
  readonly toolPolicy?: ToolPolicyInput;
  /**
   * Days a run's audit record is kept, during which no one can change or delete it.
   * @default 400, a year and a quarter for year-over-year reviews
   */
  readonly auditRetentionDays?: number;
  /**
   * Locks the audit container's immutability policy: then not even a subscription owner can
   * shorten it or delete a record before its time, and the audit account cannot be deleted while
   * it holds one. Irreversible.
   * @default false: the policy can be removed by whoever may manage the storage account
   */
  readonly lockAuditPolicy?: boolean;
  /**
   * State and audit accounts the agent shares with others (a fleet's shard), with containers of
   * its own, instead of two accounts of its own; `auditRetentionDays` and `lockAuditPolicy` are then
   * the shared storage's. A durable agent keeps accounts of its own even so.
   * @default accounts of its own
   */
  readonly storage?: AzureAgentStorage;
  /**
   * Where the runtime also sends each audit record, as a row to query in Log Analytics, after
   * writing it to Blob storage (which stays the record of truth); the agent's identity is given
   * Monitoring Metrics Publisher on the data collection rule alone. `AzureAgentOperations` sends
   * the agents it is given there too.
   * @default none: audit records are kept in Blob storage only
   */
  readonly auditLogs?: AzureAuditLogs;
}

/** The construct that deploys each placement on Azure. */
const PLACED_BY: Readonly<Record<Placement, string>> = { function: 'AzureAgentFunction', container: 'AzureAgentContainer', agentcore: '(none: AWS only)' };

/** Days Azure allows a time-based immutability policy to last. */
const MAX_IMMUTABILITY_DAYS = 146_000;

/**
 * What every Azure host checks alike before it builds anything, as `field: problem` lines: that the
 * definition is placed on this host, that its triggers have what delivers them, that its tools and
 * skills exist on Azure, and that its team and audit settings hold.
 */
export function azureAccessProblems(agent: AgentDefinition, props: AzureAgentAccessProps & { readonly auth?: AzureHttpAuth }, placement: Placement): string[] {
  // An agent its team does not list (or lists with another definition) fails first, naming the team.
  props.team?.membership(agent);
  const problems: string[] = [];
  if (!PLACEMENT_LIMITS[agent.placement].clouds.includes('azure')) {
    problems.push('placement: "agentcore" is Amazon Bedrock AgentCore Runtime, on AWS only; Azure has no managed agent runtime that runs this one, so place the agent as a function or a container');
  } else if (agent.placement !== placement) {
    problems.push(`placement: ${PLACED_BY[placement]} deploys agents with placement: ${placement}; this one's is "${agent.placement}" (deploy it with ${PLACED_BY[agent.placement]})`);
  }
  agent.triggers.forEach((t, i) => {
    if ((t.type === 'job' || t.type === 'queue') && !props.queue) problems.push(`triggers[${i}]: a "${t.type}" trigger needs an AzureAgentQueue (pass queue)`);
    if (t.type === 'event' && !props.events) problems.push(`triggers[${i}]: an "event" trigger needs AzureAgentEvents (pass events)`);
    if (t.type === 'event') {
      try {
        eventGridFilter(t.pattern);
      } catch (e) {
        problems.push(`triggers[${i}].${(e as Error).message}`);
      }
    }
  });
  agent.tools.forEach((t, i) => {
    if (t.kind === 'function') problems.push(`tools[${i}]: "${t.name}" is a function tool, which invokes AWS Lambda; on Azure make it an http or mcp tool`);
  });
  problems.push(...skillProblems(agent.skills, props.skills?.index, 'AzureSkillStore'));
  // Approvals are given through the job routes: a durable agent that asks for them takes jobs.
  if (agent.tools.some((t) => t.approval) && !agent.triggers.some((t) => t.type === 'job')) {
    problems.push(`tools[${agent.tools.findIndex((t) => t.approval)}].approval: approvals are given on the job's route (POST /agents/${agent.name}/jobs/{jobId}/approvals), so the agent needs a "job" trigger`);
  }
  if (props.team) problems.push(...props.team.problems(agent, props));
  const retention = props.auditRetentionDays;
  if (retention !== undefined && !(Number.isInteger(retention) && retention >= 1 && retention <= MAX_IMMUTABILITY_DAYS)) {
    problems.push(`auditRetentionDays: must be a whole number of days from 1 to ${MAX_IMMUTABILITY_DAYS}, as an immutability policy allows; got ${retention}`);
  }
  return problems;
}

/**
 * What one agent's runtime is given on Azure wherever it runs (a Function App, a container app):
 * its own user-assigned identity, state account and audit store, its configuration and the settings
 * that name each part of the platform, and exactly the roles its definition needs, each on one
 * resource, through one path, so an agent moved from a function to a container keeps the same
 * permissions. The host adds only what it needs to run (its code, its telemetry).
 */
export class AzureAgentAccess {
  readonly identity: UserAssignedIdentity;
  readonly state: StorageAccount;
  /** The container of its job records, in its state account. */
  readonly jobs: StorageContainer;
  /** The container where the agents that send it jobs and hand-offs leave inputs too large for a message. */
  readonly inbox?: StorageContainer;
  readonly audit: AzureAuditStore;
  /** The shared accounts its state and audit live in, with what its container names start with. */
  readonly shared?: { readonly storage: AzureAgentStorage; readonly prefix: string };
  readonly config: AgentRuntimeConfig;
  readonly route: ReturnType<AzureModelRouter['route']>;
  /** What the agent is to its team, when it has one. */
  readonly membership?: AzureTeamMembership;
  /** The runtime's settings, alike on every host (model keys excepted: each host reads Key Vault its own way). */
  readonly settings: Record<string, string>;
  /** The roles the agent's definition needs, each on one resource. */
  readonly roles: TerraformResource[];
  /** Where its runtime copies its audit records to query them, once it does. */
  get auditLogs(): AzureAuditLogs | undefined {
    return this.logs;
  }
  private logs?: AzureAuditLogs;

  constructor(
    private readonly scope: Construct,
    readonly agent: AgentDefinition,
    props: AzureAgentAccessProps,
    name: string,
  ) {
    checkAzureQuotas(scope);
    const team = props.team?.membership(agent);
    if (team) this.membership = team;
    const route = (this.route = props.router.route(agent));
    const toolPolicy = parseToolPolicy(agent, props.toolPolicy);
    this.config = {
      definition: agent,
      route,
      prices: props.router.prices(route),
      ...(toolPolicy && { toolPolicy }),
      ...(team?.callers.length && { callers: team.callers }),
    };
    const location = { resourceGroupName: props.resourceGroupName, location: props.location };
    this.identity = new UserAssignedIdentity(scope, 'Identity', { name: `${name}-identity`, ...location });
    const inbox = team?.takesQueued ?? false;
    if (props.storage && !agent.durable) {
      const place = props.storage.place(agent, { inbox });
      this.shared = { storage: props.storage, prefix: place.prefix };
      this.state = props.storage.state;
      this.jobs = place.jobs;
      if (place.inbox) this.inbox = place.inbox;
      this.audit = place.audit;
    } else {
      const state = stateAccount(scope, location, inbox, agent);
      this.state = state.account;
      this.jobs = state.jobs;
      if (state.inbox) this.inbox = state.inbox;
      this.audit = new AzureAuditStore(scope, 'Audit', {
        name: storageAccountName(scope, 'audit'),
        ...location,
        retentionDays: props.auditRetentionDays ?? 400,
        locked: props.lockAuditPolicy ?? false,
      });
    }
    this.settings = {
      [AGENT_CONFIG_ENV]: encodeAgentConfig(this.config),
      [ENV.identityClientId]: this.identity.clientId,
      [ENV.stateAccountUrl]: this.state.primaryBlobEndpoint,
      [ENV.auditAccountUrl]: this.audit.account.primaryBlobEndpoint,
      ...(this.shared && { [ENV.containerPrefix]: this.shared.prefix }),
    };
    this.roles = this.grantRoles(props);
    if (props.auditLogs) this.roles.push(this.sendAuditTo(props.auditLogs, this.settings));
    // How it reaches the agents it sends tasks to, known once they are built.
    if (team?.sends) this.settings[ENV.peers] = props.team!.peersSetting(agent.name);
  }

  /**
   * Makes the runtime copy its audit records to `logs`: the settings that name them, added to
   * `settings` (the host's, when it is already built), and the role to send them with, which the
   * host waits for. Once only; sending to the same logs again changes nothing.
   */
  sendAuditTo(logs: AzureAuditLogs, settings: Record<string, string>): TerraformResource {
    if (this.logs && this.logs !== logs) throw new AgentDefinitionError(this.agent.name, [`auditLogs: the agent sends its audit records to ${this.logs.node.path} already, and one copy is all it keeps`]);
    this.logs = logs;
    Object.assign(settings, logs.settings);
    return (this.ingest ??= logs.grantIngest(this.identity, this.agent.name));
  }
  private ingest?: TerraformResource;

  /** Lets an identity read this agent's job records (to await a job it gave the agent), and nothing else of its state. */
  grantReadJobs(principal: AzurePrincipal, id: string): TerraformResource {
    return assignRole(this.scope, `JobReader-${id}`, this.jobs.resourceManagerId, 'Storage Blob Data Reader', principal);
  }

  /** Lets an identity leave task inputs in this agent's inbox, and nothing else of its state. */
  grantInbox(principal: AzurePrincipal, id: string): TerraformResource {
    if (!this.inbox) throw new AgentDefinitionError(this.agent.name, ['team: no agent of its team sends it jobs or hand-offs, so it has no inbox to write to']);
    return assignRole(this.scope, `InboxWriter-${id}`, this.inbox.resourceManagerId, 'Storage Blob Data Contributor', principal);
  }

  /** Every role the definition needs, each on one resource, with the settings that name those resources. */
  private grantRoles(props: AzureAgentAccessProps): TerraformResource[] {
    const { agent, settings } = this;
    // The identity itself: an assignment on a resource of another stack is declared in its stack.
    const principal = this.identity;
    const roles: TerraformResource[] = [this.audit.grantWrite(principal, agent.name), ...props.router.grantRead(this.route, principal, agent.name)];
    if (props.skills && agent.skills.length) {
      roles.push(props.skills.grantRead(principal, agent.name));
      settings[ENV.skillsAccountUrl] = props.skills.account.primaryBlobEndpoint;
      settings[ENV.skillsContainer] = props.skills.container.name;
    }
    if (props.events) {
      roles.push(props.events.grantPublish(principal, agent.name));
      settings[ENV.topicEndpoint] = props.events.topic.endpoint;
    }
    if (props.queue) {
      roles.push(props.queue.grantReceive(principal, agent.name));
      // A job the API accepts is sent by the agent itself; a team's tasks come through Event Grid.
      if (agent.triggers.some((t) => t.type === 'job')) roles.push(props.queue.grantSend(principal, agent.name));
      settings[ENV.queue] = props.queue.queue.name;
      settings[ENV.queueMaxDeliveries] = String(props.queue.maxDeliveryCount);
      settings[`${ENV.serviceBusConnection}__fullyQualifiedNamespace`] = `${props.queue.namespace.name}.servicebus.windows.net`;
      settings[`${ENV.serviceBusConnection}__credential`] = 'managedidentity';
      settings[`${ENV.serviceBusConnection}__clientId`] = this.identity.clientId;
    }
    return roles;
  }
}

/**
 * The agent's job status and, with `inbox`, the container the agents that send it tasks may write
 * to, each by a role on that container alone; on a Function App, also the host's storage (leases,
 * keys). Reachable by the agent's identity only. Not versioned: the host and job status rewrite
 * their blobs, and every write would leave a version behind. Job records and inputs expire together.
 */
function stateAccount(scope: Construct, location: { resourceGroupName: string; location: string }, inbox: boolean, agent: AgentDefinition): { account: StorageAccount; jobs: StorageContainer; inbox?: StorageContainer } {
  const durable = agent.durable;
  // Past the run limit of a durable agent too: a run waiting for a person still finds its records.
  const retentionDays = Math.ceil(recordRetentionSeconds(agent) / 86_400);
  const account = privateStorageAccount(scope, 'State', { name: storageAccountName(scope), ...location, versioned: false });
  const container = (name: string) => new StorageContainer(scope, `State-${name}`, { name, storageAccountId: account.id, containerAccessType: 'private' });
  const names: string[] = [AZURE_STATE_CONTAINERS.jobs, ...(inbox ? [AZURE_STATE_CONTAINERS.inbox] : [])];
  const [jobs, inboxContainer] = names.map(container);
  // What a durable run keeps by reference (results and conversations too large for its history).
  if (durable) {
    names.push(AZURE_STATE_CONTAINERS.durable);
    container(AZURE_STATE_CONTAINERS.durable);
  }
  const expiry = new ExpiryRules(scope, 'StateRetention', account.id);
  for (const name of names) expiry.expire(name, retentionDays);
  return { account, jobs: jobs!, ...(inboxContainer && { inbox: inboxContainer }) };
}
