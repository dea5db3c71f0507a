import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import { AZURE_AUDIT_CONTAINER } from '../../contract/config/settings';
import { assignRole, privateStorageAccount } from './defaults';
import { ExpiryRules } from './expiry-rules';
import { StorageContainer, StorageContainerImmutabilityPolicy, type TerraformResource, type StorageAccount } from './engine';

export interface AzureAuditStoreProps {
  /** The storage account name: 3-24 lowercase letters and digits, unique in Azure. */
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /** Days each record can be neither changed nor deleted, after which it is deleted. */
  readonly retentionDays: number;
  /** Whether the immutability policy is locked, so no one can shorten or remove it. */
  readonly locked: boolean;
}

/** An audit container in an account several agents share (`AzureAgentStorage`), each its own container and policy. */
export interface SharedAuditAccount {
  readonly account: StorageAccount;
  /** The container's name: the agent's prefix and `audit`. */
  readonly containerName: string;
  /** The account's lifecycle rules, which the container's expiry joins. */
  readonly expiry: ExpiryRules;
  /** Days each record can be neither changed nor deleted, after which it is deleted. */
  readonly retentionDays: number;
  readonly locked: boolean;
}

/**
 * An agent's audit records where no one can rewrite them, the Azure counterpart of the versioned
 * AuditBucket the agent may only add objects to: one container under a time-based immutability
 * policy (container-level WORM), so a record can be created but neither overwritten nor deleted
 * until the retention period has passed, when the account's lifecycle rule deletes it. The agent
 * writes whole blobs, so appends stay refused too. The account is the agent's own, or one a fleet's
 * shard shares, where each agent has a container and a policy of its own.
 */
export class AzureAuditStore extends Construct {
  readonly account: StorageAccount;
  readonly container: StorageContainer;
  readonly immutability: StorageContainerImmutabilityPolicy;

  constructor(scope: Construct, id: string, props: AzureAuditStoreProps | SharedAuditAccount) {
    super(scope, id);
    const shared = 'account' in props ? props : undefined;
    // Not versioned: records are created once, never overwritten, so there is nothing to keep.
    this.account = shared?.account ?? privateStorageAccount(this, 'Account', { name: (props as AzureAuditStoreProps).name, resourceGroupName: (props as AzureAuditStoreProps).resourceGroupName, location: (props as AzureAuditStoreProps).location, versioned: false });
    const name = shared?.containerName ?? AZURE_AUDIT_CONTAINER;
    this.container = new StorageContainer(this, 'Container', { name, storageAccountId: this.account.id, containerAccessType: 'private' });
    this.immutability = new StorageContainerImmutabilityPolicy(this, 'Immutability', {
      storageContainerResourceManagerId: this.container.resourceManagerId,
      immutabilityPeriodInDays: props.retentionDays,
      protectedAppendWritesEnabled: false,
      protectedAppendWritesAllEnabled: false,
      locked: props.locked,
    });
    // The same number of days as the policy: a record is deleted the day it may be, never before,
    // when the deletion would fail.
    (shared?.expiry ?? new ExpiryRules(this, 'Retention', this.account.id)).expire(name, props.retentionDays);
  }

  /**
   * Lets an identity create records in the audit container, and nothing else in the account.
   * Contributor is the narrowest built-in role that creates blobs; the policy refuses it the
   * overwrites and deletes the role would otherwise allow.
   */
  grantWrite(principal: AzurePrincipal, id: string): TerraformResource {
    return assignRole(this, `Writer-${id}`, this.container.resourceManagerId, 'Storage Blob Data Contributor', principal);
  }
}
