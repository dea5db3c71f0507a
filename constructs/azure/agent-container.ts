import { Construct } from 'constructs';
import { CONTAINER_PORT } from '../bundle/container-image';
import { CONTAINER_ENV } from '../../contract/config/settings';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../../contract/definition/define';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import { AzureAgentAccess, azureAccessProblems, type AzureAgentAccessProps } from './agent-access';
import type { AzureAgentQueue } from './agent-queue';
import type { AzureAuditStore } from './audit-store';
import type { AzureAuditLogs } from './audit-logs';
import { tagCohort } from './cohort-tags';
import type { AzureContainerEnvironment } from './container-environment';
import { afterRolePropagation, assignRole, globalName } from './defaults';
import { ContainerApp, TerraformStack, UserAssignedIdentity, type MonitorScheduledQueryRulesAlertV2, type StorageAccount, type StorageContainer, type TerraformResource } from './engine';
import type { AzureObservability } from './observability';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureAgentContainerProps extends AzureAgentAccessProps {
  /** The agent, with `placement: container`: a definition from `defineAgent`/`loadAgentFile`, or the plain object to parse. */
  readonly agent: AgentDefinition | AgentDefinitionInput;
  /** The agent's queue, which its replicas consume and scale on. */
  readonly queue: AzureAgentQueue;
  /** The Container Apps environment and registry the agent runs from; share one among the container agents of a stack. */
  readonly environment: AzureContainerEnvironment;
  readonly observability: AzureObservability;
  /**
   * vCPUs of one replica, from 0.25 to 4 in steps of 0.25; the Consumption profile gives each
   * twice as many GiB of memory.
   * @default 1 (with 2 GiB)
   */
  readonly cpu?: number;
  /**
   * Replicas at most; the app scales between zero and this on the queue's depth.
   * @default 10
   */
  readonly maxReplicas?: number;
  /**
   * Messages one replica runs at once; also how many waiting messages each replica is counted for when scaling.
   * @default 4
   */
  readonly messagesPerReplica?: number;
  /** The container app's name, unique in its resource group. @default derived from the construct path */
  readonly name?: string;
  /**
   * Where the alert on failed runs notifies.
   * @default no action group: the alert is visible in Azure Monitor only
   */
  readonly actionGroupId?: string;
}

/** Seconds a replica has between SIGTERM and its end: it gets the same as a Fargate task. */
const TERMINATION_GRACE_SECONDS = 120;
/** What the host keeps back from the grace: a receive under way (20 s), handing back, and exiting. */
const STOP_MARGIN_SECONDS = 30;
/** The most replicas Container Apps allows an app. */
const MAX_REPLICAS = 1000;
/** The name of the queue-depth scale rule. */
const SCALE_RULE = 'queue-depth';

/**
 * An agent in Azure Container Apps (roadmap stage 3), for long, memory-hungry or steady work: the
 * same runtime its function would run, from one image every container agent of the environment
 * shares, with exactly the roles AzureAgentFunction would give it through the same path
 * (AzureAgentAccess). Its replicas take work from the agent's Service Bus queue with its own
 * user-assigned identity and scale on the queue's depth (a KEDA `azure-servicebus` rule), down to
 * zero when the queue is empty: the first message after idle waits for the scaler's poll (30 s)
 * and a replica's start (the image pull and Node, typically 10-30 s). The app has no ingress, no
 * secret values and no connection strings: model keys are Key Vault references read with its
 * identity, and the scale rule reads the queue's depth with an identity of its own (see
 * `scaleIdentity`). Schedules are refused: on Azure they are the Functions host's timers, and
 * Container Apps have none that send to a queue; place a scheduled agent as a function.
 */
export class AzureAgentContainer extends Construct {
  readonly definition: AgentDefinition;
  readonly identity: UserAssignedIdentity;
  /**
   * The identity the scale rule reads the queue's depth with. KEDA's Service Bus scaler reads the
   * queue's runtime properties, which needs the Manage right: `Azure Service Bus Data Owner` on
   * this one queue. It is kept apart from the agent's identity, which receives only, so the
   * agent's grants stay those of its function placement.
   */
  readonly scaleIdentity: UserAssignedIdentity;
  readonly app: ContainerApp;
  readonly state: StorageAccount;
  readonly jobs: StorageContainer;
  readonly inbox?: StorageContainer;
  readonly queue: AzureAgentQueue;
  readonly audit: AzureAuditStore;
  readonly failedRunAlert: MonitorScheduledQueryRulesAlertV2;
  /** Its identity, state, audit and roles, and the grants others get on them (`grantReadJobs`, `grantInbox`). */
  readonly access: AzureAgentAccess;
  private readonly roles: TerraformResource[];
  /** The container's environment variables: what `sendAuditTo` adds to. */
  private readonly env: { name: string; value?: string; secretName?: string }[];

  constructor(scope: Construct, id: string, props: AzureAgentContainerProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const agent = (this.definition = defineAgent(props.agent));
    const { cpu, maxReplicas, perReplica } = checkWiring(agent, props);
    const location = { resourceGroupName: props.resourceGroupName, location: props.location };
    const name = props.name ?? globalName(this, 32);

    const access = (this.access = new AzureAgentAccess(this, agent, props, name));
    this.identity = access.identity;
    this.state = access.state;
    this.jobs = access.jobs;
    if (access.inbox) this.inbox = access.inbox;
    this.queue = props.queue;
    this.audit = access.audit;
    this.scaleIdentity = new UserAssignedIdentity(this, 'ScaleIdentity', { name: `${name}-scaler`, ...location });
    const scaleReader = assignRole(this, 'ScaleReader', props.queue.queue.id, 'Azure Service Bus Data Owner', this.scaleIdentity);

    // The agent's roles, and what the container itself needs: its job records and inbox (a
    // Function App's host needs Owner on the account for its leases; a container does not), and
    // the image.
    this.roles = [
      access.shared ? access.shared.storage.grantState(this, 'StateWriter', agent.name, this.identity) : assignRole(this, 'StateWriter', this.state.id, 'Storage Blob Data Contributor', this.identity),
      props.environment.grantPull(this.identity, agent.name),
      ...access.roles,
    ];
    const keys = props.router.keyVaultSecrets(access.route);
    const settings: Record<string, string> = {
      ...access.settings,
      [CONTAINER_ENV.concurrency]: String(perReplica),
      [CONTAINER_ENV.graceSeconds]: String(TERMINATION_GRACE_SECONDS - STOP_MARGIN_SECONDS),
    };

    this.app = new ContainerApp(this, 'App', {
      name,
      resourceGroupName: props.resourceGroupName,
      containerAppEnvironmentId: props.environment.environment.id,
      revisionMode: 'Single',
      identity: { type: 'UserAssigned', identityIds: [this.identity.id, this.scaleIdentity.id] },
      // It pulls its image, reads its keys and takes its first message as it starts: only once
      // its roles have taken effect, and the image is built.
      dependsOn: [afterRolePropagation(this, 'RolesPropagated', this.roles), scaleReader, ...(props.environment.build ? [props.environment.build] : [])],
      registry: [{ server: props.environment.registry.loginServer, identity: this.identity.id }],
      // Key Vault references, resolved with the agent's identity: no secret value is in the app.
      ...(keys.length && { secret: keys.map((k, i) => ({ name: `model-key-${i}`, keyVaultSecretId: k.secretId, identity: this.identity.id })) }),
      template: {
        minReplicas: 0,
        maxReplicas,
        terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
        container: [
          {
            name: 'agent',
            image: props.environment.image,
            cpu,
            memory: `${cpu * 2}Gi`,
            env: (this.env = [...Object.entries(settings).map(([key, value]) => ({ name: key, value })), ...keys.map((k, i) => ({ name: k.setting, secretName: `model-key-${i}` }))]),
            startupProbe: [{ transport: 'HTTP', port: CONTAINER_PORT, path: '/ping', intervalSeconds: 2, failureCountThreshold: 30 }],
            livenessProbe: [{ transport: 'HTTP', port: CONTAINER_PORT, path: '/ping', intervalSeconds: 30, timeout: 5, failureCountThreshold: 3 }],
          },
        ],
        customScaleRule: [{ name: SCALE_RULE, customRuleType: 'azure-servicebus', metadata: { namespace: props.queue.namespace.name, queueName: props.queue.queue.name, messageCount: String(perReplica) } }],
      },
    });
    keylessScaleRule(this.app, this.scaleIdentity.id);

    // Events reach a container agent through its queue, which its replicas read.
    agent.triggers.forEach((t, i) => {
      if (t.type === 'event') props.events!.deliverMatchingToQueue(`${agent.name}-event-${i}`, props.queue, t.pattern);
    });
    this.failedRunAlert = props.observability.alertOnFailedRuns(agent.name, { containerApp: name, owner: this, ...(props.actionGroupId && { actionGroupId: props.actionGroupId }) });
    props.team?.join(this);
    // What the agent alone is billed for carries its cohort, which the cohort's budget filters on.
    tagCohort(this, agent.cohort);
  }

  /** Where its runtime copies its audit records to query them in Log Analytics, if it does. */
  get auditLogs(): AzureAuditLogs | undefined {
    return this.access.auditLogs;
  }

  /**
   * Makes its runtime also send each audit record to `logs`, after Blob storage, as the
   * `auditLogs` prop does for an agent built with it: the container's environment names the rule,
   * and its identity gets Monitoring Metrics Publisher on it, which the app waits for.
   */
  sendAuditTo(logs: AzureAuditLogs): void {
    if (this.access.auditLogs === logs) return;
    const settings: Record<string, string> = {};
    this.roles.push(this.access.sendAuditTo(logs, settings));
    this.env.push(...Object.entries(settings).map(([name, value]) => ({ name, value })));
  }

  /** Container agents take no calls: AgentTeamGraph refuses a `call` edge to one, so this is never reached from a team. */
  grantInvoke(): TerraformResource {
    throw new AgentDefinitionError(this.definition.name, ['placement: a container agent serves no route, so no agent may call it; send it a job or a hand-off']);
  }

  /** Makes the app start only once `role`, granted to its identity after it was built (by its team), has taken effect. */
  waitsFor(role: TerraformResource): void {
    this.roles.push(role);
  }
}

/**
 * Gives the scale rule its identity, so KEDA reads the queue with Entra ID and no connection
 * string. `@cdktf/provider-azurerm` 14 (azurerm 4.55) has no `identity` on custom scale rules,
 * azurerm 4.73 has: the field is written as an override, and the stack requires a provider that
 * knows it (docs/toolchain.md has the decision).
 */
function keylessScaleRule(app: ContainerApp, identityId: string): void {
  app.addOverride('template.custom_scale_rule.0.identity', identityId);
  requireAzurermAtLeast(app, SCALE_RULE_IDENTITY_AZURERM);
}

/** The first azurerm release whose container apps take `identity` on custom scale rules. */
export const SCALE_RULE_IDENTITY_AZURERM = '~> 4.73';

function requireAzurermAtLeast(scope: Construct, version: string): void {
  const stack = TerraformStack.of(scope);
  stack.addOverride('terraform.required_providers.azurerm.source', 'hashicorp/azurerm');
  stack.addOverride('terraform.required_providers.azurerm.version', version);
}

/**
 * Every setting must be servable by a container app on Azure; problems name the agent and the
 * field. Returns the replica's size and scale.
 */
function checkWiring(agent: AgentDefinition, props: AzureAgentContainerProps): { cpu: number; maxReplicas: number; perReplica: number } {
  const problems = azureAccessProblems(agent, props, 'container');
  agent.triggers.forEach((t, i) => {
    if (t.type === 'schedule') {
      problems.push(`triggers[${i}]: on Azure a schedule is a Functions timer, and Container Apps have no scheduler that sends to the agent's queue; place a scheduled agent as a function (on AWS a container agent takes schedules through its queue)`);
    }
  });
  const cpu = props.cpu ?? 1;
  if (!(cpu >= 0.25 && cpu <= 4 && Number.isInteger(cpu * 4))) problems.push(`cpu: a Consumption replica has 0.25 to 4 vCPUs in steps of 0.25; got ${cpu}`);
  const maxReplicas = props.maxReplicas ?? 10;
  if (!(Number.isInteger(maxReplicas) && maxReplicas >= 1 && maxReplicas <= MAX_REPLICAS)) problems.push(`maxReplicas: must be a whole number from 1 to ${MAX_REPLICAS}; got ${maxReplicas}`);
  const perReplica = props.messagesPerReplica ?? 4;
  if (!(Number.isInteger(perReplica) && perReplica >= 1 && perReplica <= 100)) problems.push(`messagesPerReplica: must be a whole number from 1 to 100; got ${perReplica}`);
  if (props.name !== undefined && !/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/.test(props.name)) {
    problems.push(`name: a container app's name is 2-32 lowercase letters, digits and hyphens, starting with a letter; got "${props.name}"`);
  }
  if (problems.length) throw new AgentDefinitionError(agent.name, problems);
  return { cpu, maxReplicas, perReplica };
}
