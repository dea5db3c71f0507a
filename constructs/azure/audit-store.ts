import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import { AZURE_AUDIT_CONTAINER } from '../../contract/config/settings';
import { assignRole, privateStorageAccount } from './defaults';
import { StorageContainer, StorageContainerImmutabilityPolicy, StorageManagementPolicy, type RoleAssignment, type StorageAccount } from './engine';

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

/**
 * An agent's audit records where no one can rewrite them, the Azure counterpart of the versioned
 * AuditBucket the agent may only add objects to: a storage account of their own, with one
 * container under a time-based immutability policy (container-level WORM), so a record can be
 * created but neither overwritten nor deleted until the retention period has passed, when the
 * account's lifecycle rule deletes it. The agent writes whole blobs, so appends stay refused too.
 */
export class AzureAuditStore extends Construct {
  readonly account: StorageAccount;
  readonly container: StorageContainer;
  readonly immutability: StorageContainerImmutabilityPolicy;

  constructor(scope: Construct, id: string, props: AzureAuditStoreProps) {
    super(scope, id);
    // Not versioned: records are created once, never overwritten, so there is nothing to keep.
    this.account = privateStorageAccount(this, 'Account', { name: props.name, resourceGroupName: props.resourceGroupName, location: props.location, versioned: false });
    this.container = new StorageContainer(this, 'Container', { name: AZURE_AUDIT_CONTAINER, storageAccountId: this.account.id, containerAccessType: 'private' });
    this.immutability = new StorageContainerImmutabilityPolicy(this, 'Immutability', {
      storageContainerResourceManagerId: this.container.resourceManagerId,
      immutabilityPeriodInDays: props.retentionDays,
      protectedAppendWritesEnabled: false,
      protectedAppendWritesAllEnabled: false,
      locked: props.locked,
    });
    // The same number of days as the policy: a record is deleted the day it may be, never before,
    // when the deletion would fail.
    new StorageManagementPolicy(this, 'Retention', {
      storageAccountId: this.account.id,
      rule: [
        {
          name: `expire-${AZURE_AUDIT_CONTAINER}`,
          enabled: true,
          filters: { blobTypes: ['blockBlob'], prefixMatch: [`${AZURE_AUDIT_CONTAINER}/`] },
          actions: { baseBlob: { deleteAfterDaysSinceModificationGreaterThan: props.retentionDays } },
        },
      ],
    });
  }

  /**
   * Lets an identity create records in the audit container, and nothing else in the account.
   * Contributor is the narrowest built-in role that creates blobs; the policy refuses it the
   * overwrites and deletes the role would otherwise allow.
   */
  grantWrite(principal: AzurePrincipal, id: string): RoleAssignment {
    return assignRole(this, `Writer-${id}`, this.container.resourceManagerId, 'Storage Blob Data Contributor', principal);
  }
}
