import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import { runtimeBundleDir } from '../bundle/runtime-bundle';
import { AZURE_STATE_CONTAINERS } from '../../contract/config/settings';
import { afterRolePropagation, assignDeployer, assignRole, privateStorageAccount, storageAccountName } from './defaults';
import { AssetType, StorageBlob, StorageContainer, TerraformAsset, type TerraformResource, type StorageAccount } from './engine';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureRuntimePackageProps {
  readonly resourceGroupName: string;
  readonly location: string;
}

/**
 * The runtime as a zip in Blob storage, once per stack, which every agent app runs from
 * (`WEBSITE_RUN_FROM_PACKAGE`), fetched with the app's own identity. This replaces zip deploy,
 * which the current provider cannot do for Flex Consumption apps, and leaves the apps' storage keyless.
 */
export class AzureRuntimePackage extends Construct {
  readonly account: StorageAccount;
  readonly container: StorageContainer;
  readonly blob: StorageBlob;

  constructor(scope: Construct, id: string, props: AzureRuntimePackageProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const asset = new TerraformAsset(this, 'Bundle', { path: runtimeBundleDir('azure'), type: AssetType.ARCHIVE });
    this.account = privateStorageAccount(this, 'Account', { name: storageAccountName(this), ...props });
    this.container = new StorageContainer(this, 'Container', { name: AZURE_STATE_CONTAINERS.package, storageAccountId: this.account.id, containerAccessType: 'private' });
    const uploads = afterRolePropagation(this, 'DeployerUploadsPropagated', [assignDeployer(this, 'DeployerUploads', this.container.resourceManagerId, 'Storage Blob Data Contributor')]);
    // Named by content: a new runtime is a new blob, so apps restart onto it and never half-read
    // one; the old blob goes only after the apps point at the new one.
    this.blob = new StorageBlob(this, 'Zip', {
      name: `runtime-${asset.assetHash.slice(0, 16)}.zip`,
      storageAccountName: this.account.name,
      storageContainerName: this.container.name,
      type: 'Block',
      contentType: 'application/zip',
      source: asset.path,
      dependsOn: [uploads],
      lifecycle: { createBeforeDestroy: true },
    });
  }

  /** The package's URL, for WEBSITE_RUN_FROM_PACKAGE. */
  get url(): string {
    return this.blob.url;
  }

  /** Lets an app's identity read the package container only. */
  grantRead(principal: AzurePrincipal, id: string): TerraformResource {
    return assignRole(this, `Reader-${id}`, this.container.resourceManagerId, 'Storage Blob Data Reader', principal);
  }
}
