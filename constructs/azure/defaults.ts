import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { DataAzurermClientConfig, Lazy, RoleAssignment, StorageAccount, TerraformStack, terraformResource, TIME_PROVIDER, type TerraformResource, type UserAssignedIdentity } from './engine';

/**
 * The secure defaults every Azure construct shares, in one place so they cannot drift apart: the
 * storage account that takes no shared key, role assignments to a service principal, and the wait
 * before what uses a new role.
 */

export interface PrivateStorageAccountProps {
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * Keep every blob's earlier versions: right for content (skills, packages), wrong for state
   * rewritten in place, where each write would leave a version behind.
   * @default true
   */
  readonly versioned?: boolean;
}

/**
 * A storage account reached by Entra ID identities only: no shared keys (so no SAS either), no
 * public blob, HTTPS with TLS 1.2, double encryption, versioned blobs, and deleted blobs kept 14 days.
 */
export function privateStorageAccount(scope: Construct, id: string, props: PrivateStorageAccountProps): StorageAccount {
  if (!/^[a-z0-9]{3,24}$/.test(props.name)) throw new Error(`${scope.node.path}: storage account name "${props.name}" must be 3-24 lowercase letters and digits`);
  return new StorageAccount(scope, id, {
    name: props.name,
    resourceGroupName: props.resourceGroupName,
    location: props.location,
    accountTier: 'Standard',
    accountReplicationType: 'ZRS',
    minTlsVersion: 'TLS1_2',
    httpsTrafficOnlyEnabled: true,
    sharedAccessKeyEnabled: false,
    defaultToOauthAuthentication: true,
    allowNestedItemsToBePublic: false,
    infrastructureEncryptionEnabled: true,
    blobProperties: { versioningEnabled: props.versioned ?? true, deleteRetentionPolicy: { days: 14 } },
  });
}

/**
 * The context key whose value goes into every derived global name. Azure names storage accounts,
 * vaults, namespaces, topics and apps globally, so two deployments of the same stack path would
 * collide; a stack sets this (the example stack uses the subscription id) to keep its names its own.
 */
export const NAME_SEED_CONTEXT = 'serverless-agents:nameSeed';

function nameHash(scope: Construct, part: string): string {
  const seed = String(scope.node.tryGetContext(NAME_SEED_CONTEXT) ?? '');
  return createHash('sha256').update(`${seed}/${scope.node.path}/${part}`).digest('hex').slice(0, 8);
}

/** A storage account name for a construct: lowercase letters and digits, at most 24. */
export function storageAccountName(scope: Construct, part = ''): string {
  const base = `${scope.node.path}${part}`.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 16);
  return `${base}${nameHash(scope, part)}`.slice(0, 24);
}

/** A globally unique resource name for a construct: letters, digits and hyphens, at most `maxLength`. */
export function globalName(scope: Construct, maxLength: number, part = ''): string {
  const base = `${scope.node.path}${part}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, maxLength - 9).replace(/-+$/, '');
  return `${base}-${nameHash(scope, part)}`;
}

/**
 * Who a role is given to: an identity (its principal id read from it), or a principal id. Given the
 * identity, an assignment on a resource of another stack is declared in the identity's stack, so a
 * stack of agents may be granted on a platform stack's resources without the platform's stack
 * referring to the agents' (which would make the two depend on each other).
 */
export type AzurePrincipal = string | UserAssignedIdentity;

/** The principal id of `principal`. */
export function principalIdOf(principal: AzurePrincipal): string {
  return typeof principal === 'string' ? principal : principal.principalId;
}

/**
 * Where an assignment by `scope` to `principal` is declared: `scope` itself, or, for an identity in
 * another stack, a construct beside the identity named after `scope`.
 */
export function grantScope(scope: Construct, principal: AzurePrincipal): Construct {
  if (typeof principal === 'string' || TerraformStack.of(principal) === TerraformStack.of(scope)) return scope;
  const home = principal.node.scope!;
  const id = `Grants-${scope.node.path.replace(/[^A-Za-z0-9-]/g, '-')}`;
  return (home.node.tryFindChild(id) as Construct | undefined) ?? new GrantsOf(home, id);
}

/** The role assignments an identity is given on another stack's resources, by one construct of that stack. */
class GrantsOf extends Construct {}

/**
 * Every built-in role the constructs assign, to agents, to the platform's own identities or to the
 * deploying identity: a delivery identity may assign these and no others
 * (`AzureGitHubDeployIdentity`), so a construct assigning a role not listed fails at synth.
 */
export const AZURE_ASSIGNED_ROLES = [
  'Storage Blob Data Reader',
  'Storage Blob Data Contributor',
  'Storage Blob Data Owner',
  'Storage Queue Data Contributor',
  'Storage Table Data Contributor',
  'Key Vault Secrets User',
  'Key Vault Secrets Officer',
  'Azure Service Bus Data Sender',
  'Azure Service Bus Data Receiver',
  'Azure Service Bus Data Owner',
  'EventGrid Data Sender',
  'Monitoring Metrics Publisher',
  'AcrPull',
] as const;

function listed(scope: Construct, role: string): string {
  if (!(AZURE_ASSIGNED_ROLES as readonly string[]).includes(role)) throw new Error(`${scope.node.path}: role "${role}" is not in AZURE_ASSIGNED_ROLES; add it there, so a delivery identity may assign it`);
  return role;
}

/**
 * Where a stack's identities take the roles they are given on other stacks' resources, when it has
 * such a place: a group per resource and role, which the identities join (`AzureRoleGroups`).
 */
export interface RoleGroupSink {
  /** Makes `principal` a member of the group that holds `role` on the resource `owner` declares; what it then waits for. */
  join(owner: Construct, resourceId: string, role: string, principal: UserAssignedIdentity): TerraformResource;
}

const roleGroupSinks = new WeakMap<TerraformStack, RoleGroupSink>();

/** Makes the identities of `stack` take their roles on other stacks' resources through `sink`. */
export function useRoleGroups(stack: TerraformStack, sink: RoleGroupSink): void {
  if (roleGroupSinks.has(stack)) throw new Error(`${stack.node.path}: has its role groups already`);
  roleGroupSinks.set(stack, sink);
}

/**
 * One built-in role for one identity on one resource; Azure assignments are always this shape.
 * `owner` is the resource's construct (the granting construct unless said, which then grants one
 * role on one resource): an identity of a stack with role groups takes a role on another stack's
 * resource by joining that resource's group, which holds the one assignment however many
 * identities share it.
 */
export function assignRole(scope: Construct, id: string, resourceId: string, role: string, principal: AzurePrincipal, owner: Construct = scope): TerraformResource {
  if (typeof principal !== 'string' && TerraformStack.of(owner) !== TerraformStack.of(principal)) {
    const sink = roleGroupSinks.get(TerraformStack.of(principal));
    if (sink) return sink.join(owner, resourceId, listed(scope, role), principal);
  }
  return new RoleAssignment(grantScope(scope, principal), id, { scope: resourceId, roleDefinitionName: listed(scope, role), principalId: principalIdOf(principal), principalType: 'ServicePrincipal' });
}

/**
 * A data-plane role for whoever runs the deployment, which resources it writes through (blobs,
 * Key Vault secrets) depend on: owning a subscription does not let an identity write data where
 * keys are off and RBAC decides. The provider must use Entra ID for storage (`storageUseAzuread`).
 */
export function assignDeployer(scope: Construct, id: string, resourceId: string, role: string): RoleAssignment {
  return new RoleAssignment(scope, id, { scope: resourceId, roleDefinitionName: listed(scope, role), principalId: deployer(scope).objectId });
}

/** How long a new data-plane role assignment is given to take effect; Azure documents up to minutes. */
export const ROLE_PROPAGATION = '60s';

/**
 * A wait between role assignments and what first uses them (a blob upload, a Key Vault write, an
 * app fetching its package): data-plane roles take effect some time after Azure reports them
 * created, and without the wait a first apply fails on 403 where a second one passes. It waits
 * again whenever an assignment is replaced. One per construct, for all its assignments: read at
 * synth, so assignments added to the list later (a team's grants) are waited for too.
 */
export function afterRolePropagation(scope: Construct, id: string, assignments: readonly TerraformResource[]): TerraformResource {
  // Keyed by path below the stack, so two constructs' `Reader-x` assignments stay apart.
  const key = (a: TerraformResource) => a.node.path.split('/').slice(1).join('/');
  return terraformResource(scope, id, 'time_sleep', {
    provider: TIME_PROVIDER,
    attributes: { create_duration: ROLE_PROPAGATION, triggers: Lazy.anyValue({ produce: () => Object.fromEntries(assignments.map((a) => [key(a), a.getStringAttribute('id')])) }) },
  });
}

const deployers = new WeakMap<TerraformStack, DataAzurermClientConfig>();

/** The identity running the deployment (its tenant, object id, subscription): one lookup per stack. */
export function deployer(scope: Construct): DataAzurermClientConfig {
  const stack = TerraformStack.of(scope);
  let client = deployers.get(stack);
  if (!client) {
    client = new DataAzurermClientConfig(stack, 'Deployer', {});
    deployers.set(stack, client);
  }
  return client;
}
