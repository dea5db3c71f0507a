import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { AZURE_AUDIT_CONTAINER, AZURE_STATE_CONTAINERS } from '../../contract/config/settings';
import { recordRetentionSeconds } from '../../contract/jobs/job-record';
import type { AgentDefinition } from '../../contract/definition/define';
import { AzureAuditStore } from './audit-store';
import { deployer, globalName, principalIdOf, privateStorageAccount, storageAccountName, type AzurePrincipal } from './defaults';
import { RoleAssignment, RoleDefinition, StorageContainer, Token, type StorageAccount } from './engine';
import { ExpiryRules } from './expiry-rules';
import { shareWithCohort } from './cohort-tags';

export interface AzureAgentStorageProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * Days a run's audit record is kept, during which no one can change or delete it.
   * @default 400, a year and a quarter for year-over-year reviews
   */
  readonly auditRetentionDays?: number;
  /** Locks each agent's audit policy (irreversible). @default false */
  readonly lockAuditPolicy?: boolean;
}

/** The containers the Functions host keeps its leases, timers and keys in, in the account `AzureWebJobsStorage` names. */
export const FUNCTIONS_HOST_CONTAINERS = { hosts: 'azure-webjobs-hosts', secrets: 'azure-webjobs-secrets' } as const;

/** A Function App in the shared account: the host id its leases are kept under, and its name, which its keys are kept under. */
export interface FunctionsHostPaths {
  readonly hostId: string;
  readonly appName: string;
}

/** One agent's place in the shared accounts. */
export interface AgentPlace {
  /** What each of its container names starts with: its name and a hyphen. */
  readonly prefix: string;
  readonly jobs: StorageContainer;
  readonly inbox?: StorageContainer;
  readonly audit: AzureAuditStore;
}

const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';
const CONTAINER_NAME = '@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]';
const BLOB_PATH = '@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]';

/**
 * The state and audit storage agents share, so a fleet needs two storage accounts per shard
 * instead of two per agent (Azure allows 250 per region). Each agent keeps containers of its own:
 * `<name>-jobs` and `<name>-inbox` in the state account, `<name>-audit` under an immutability policy
 * of its own in the audit account. One role assignment gives an agent its state: a role made for
 * it (the blob data actions, and no right to delete a container) on the account, with an ABAC
 * condition that admits its own containers and, for a Function App, only the host's own leases
 * and keys in the host's containers, so no agent reads another's job records, inputs or keys.
 * Durable agents keep accounts of their own: their task hub's queues and tables cannot be
 * narrowed to one agent by a condition.
 */
export class AzureAgentStorage extends Construct {
  readonly state: StorageAccount;
  readonly audit: StorageAccount;
  /** What an agent may do with blobs in the state account, given on the account under a condition per agent. */
  readonly stateRole: RoleDefinition;
  private readonly stateExpiry: ExpiryRules;
  private readonly auditExpiry: ExpiryRules;
  private readonly placed = new Map<string, AgentPlace>();

  constructor(
    scope: Construct,
    id: string,
    private readonly props: AzureAgentStorageProps,
  ) {
    super(scope, id);
    const location = { resourceGroupName: props.resourceGroupName, location: props.location };
    // Not versioned: job records and the host's leases are rewritten in place; audit records are never rewritten.
    this.state = privateStorageAccount(this, 'State', { name: storageAccountName(this, 'state'), ...location, versioned: false });
    this.audit = privateStorageAccount(this, 'Audit', { name: storageAccountName(this, 'audit'), ...location, versioned: false });
    this.stateExpiry = new ExpiryRules(this, 'StateRetention', this.state.id);
    this.auditExpiry = new ExpiryRules(this, 'AuditRetention', this.audit.id);
    // Made here, before any host starts and looks for them.
    for (const name of Object.values(FUNCTIONS_HOST_CONTAINERS)) new StorageContainer(this, `Host-${name}`, { name, storageAccountId: this.state.id, containerAccessType: 'private' });
    // A custom role is defined for a resource group (or wider), not one account; each
    // assignment of it is on the state account alone.
    const group = `/subscriptions/${deployer(this).subscriptionId}/resourceGroups/${props.resourceGroupName}`;
    this.stateRole = new RoleDefinition(this, 'StateRole', {
      // Custom role names are unique in the tenant.
      name: `${globalName(this, 50)} agent state`,
      scope: group,
      description: 'Reads, writes and deletes blobs in the containers its assignment\'s condition names; cannot delete a container. Given to each agent of a shard on its state account.',
      // Storage Blob Data Contributor without deleting containers; creating one stays, as the
      // Functions host creates its containers when it finds them missing (they are made here).
      permissions: [{ actions: ['Microsoft.Storage/storageAccounts/blobServices/containers/read', 'Microsoft.Storage/storageAccounts/blobServices/containers/write'], dataActions: [`${BLOBS}/read`, `${BLOBS}/write`, `${BLOBS}/delete`] }],
      assignableScopes: [group],
    });
  }

  /** Containers for `agent` in both accounts; `inbox` when agents send it tasks. Its records expire when its own would. */
  place(agent: AgentDefinition, options: { readonly inbox: boolean }): AgentPlace {
    if (agent.durable) throw new Error(`${this.node.path}: agent ${agent.name} is durable; its task hub's queues and tables need a state account of its own`);
    if (this.placed.has(agent.name)) throw new Error(`${this.node.path}: agent ${agent.name} is placed here already`);
    const prefix = `${agent.name}-`;
    const container = (kind: string) => {
      const name = `${prefix}${kind}`;
      this.stateExpiry.expire(name, Math.ceil(recordRetentionSeconds(agent) / 86_400));
      return new StorageContainer(this, `${agent.name}-${kind}`, { name, storageAccountId: this.state.id, containerAccessType: 'private' });
    };
    const place: AgentPlace = {
      prefix,
      jobs: container(AZURE_STATE_CONTAINERS.jobs),
      ...(options.inbox && { inbox: container(AZURE_STATE_CONTAINERS.inbox) }),
      audit: new AzureAuditStore(this, `${agent.name}-audit`, {
        account: this.audit,
        containerName: `${prefix}${AZURE_AUDIT_CONTAINER}`,
        expiry: this.auditExpiry,
        retentionDays: this.props.auditRetentionDays ?? 400,
        locked: this.props.lockAuditPolicy ?? false,
      }),
    };
    this.placed.set(agent.name, place);
    // The accounts count toward a cohort's budget while every agent in them is of that cohort.
    for (const account of [this.state, this.audit]) shareWithCohort(account, agent.cohort);
    return place;
  }

  /**
   * The agent's blobs in the state account: its own containers and, with `host`, its Function
   * App's leases and timers (under its host id) and keys (under its name), by one assignment.
   */
  grantState(scope: Construct, id: string, agent: string, principal: AzurePrincipal, host?: FunctionsHostPaths | readonly FunctionsHostPaths[]): RoleAssignment {
    const place = this.placed.get(agent);
    if (!place) throw new Error(`${this.node.path}: agent ${agent} has no place here`);
    const hosts = host === undefined ? [] : 'hostId' in host ? [host] : host;
    if (hosts.some((h) => [h.hostId, h.appName].some((v) => Token.isUnresolved(v)))) throw new Error(`${this.node.path}: agent ${agent}'s app name and host id must be known at synth, to narrow its grant to its own host paths`);
    // By name, as written at synth, so the condition reads as what it admits.
    const own = [AZURE_STATE_CONTAINERS.jobs, ...(place.inbox ? [AZURE_STATE_CONTAINERS.inbox] : [])].map((kind) => `${place.prefix}${kind}`);
    return new RoleAssignment(scope, id, {
      scope: this.state.id,
      roleDefinitionId: this.stateRole.roleDefinitionResourceId,
      principalId: principalIdOf(principal),
      principalType: 'ServicePrincipal',
      conditionVersion: '2.0',
      condition: stateCondition(own, hosts),
    });
  }
}

/**
 * An ABAC condition over blob data actions: reading, writing and deleting blobs only in `own`
 * containers, or in the Functions host's containers only under each host's id and its app's name
 * (production's, and a staging slot's when the app has one); listing only in those containers (a
 * listing carries no blob path to test).
 */
export function stateCondition(own: readonly string[], host?: FunctionsHostPaths | readonly FunctionsHostPaths[]): string {
  const quoted = (names: readonly string[]) => `{${names.map((n) => `'${n}'`).join(', ')}}`;
  const hosts = host === undefined ? [] : 'hostId' in host ? [host] : host;
  const hostPaths = hosts.flatMap((h) => [
    // Leases under locks/<host id>/, timer status under timers/<host id>/, its id record ids/usage/<host id>.
    `(${CONTAINER_NAME} StringEquals '${FUNCTIONS_HOST_CONTAINERS.hosts}' AND (${BLOB_PATH} StringLike '*/${h.hostId}/*' OR ${BLOB_PATH} StringLike '*/${h.hostId}'))`,
    // Function keys under the app's unique slot name (`<app>`, or `<app>-<slot>` for a slot).
    `(${CONTAINER_NAME} StringEquals '${FUNCTIONS_HOST_CONTAINERS.secrets}' AND ${BLOB_PATH} StringStartsWith '${h.appName.toLowerCase()}/')`,
  ]);
  const listable = [...own, ...(hosts.length ? Object.values(FUNCTIONS_HOST_CONTAINERS) : [])];
  return [
    '(',
    ` (!(ActionMatches{'${BLOBS}/read'} AND NOT SubOperationMatches{'Blob.List'}) AND !(ActionMatches{'${BLOBS}/write'}) AND !(ActionMatches{'${BLOBS}/delete'}))`,
    ' OR',
    ` (${[`${CONTAINER_NAME} ForAnyOfAnyValues:StringEquals ${quoted(own)}`, ...hostPaths].join(' OR ')})`,
    ')',
    'AND',
    '(',
    ` !(ActionMatches{'${BLOBS}/read'} AND SubOperationMatches{'Blob.List'})`,
    ' OR',
    ` ${CONTAINER_NAME} ForAnyOfAnyValues:StringEquals ${quoted(listable)}`,
    ')',
  ].join('\n');
}

/**
 * The Functions host id of an app in a shared account: at most 32 characters, unique where the
 * app's name (truncated to 32 by default) might not be, as several apps' names share their start.
 */
export function functionsHostId(appName: string): string {
  const name = appName.toLowerCase();
  if (name.length <= 32) return name;
  // Names from globalName end in a hash; any other name is hashed here.
  const tail = /-[0-9a-f]{8}$/.test(name) ? name.slice(-8) : createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 23).replace(/-+$/, '')}-${tail}`;
}
