import type { AzurePrincipal } from './defaults';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Construct } from 'constructs';
import { readSkillsFolder, SKILL_FILE, SKILL_INDEX_KEY, type SkillIndex } from '../../contract/skills/catalog';
import { afterRolePropagation, assignDeployer, assignRole, privateStorageAccount, storageAccountName } from './defaults';
import { type TerraformResource, type StorageAccount, StorageBlob, StorageContainer } from './engine';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureSkillStoreProps {
  /** A local folder of skills in the Agent Skills format, as for the SkillBucket on AWS. */
  readonly path: string;
  /** The resource group and region the storage account goes in. */
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * The storage account name: 3-24 lowercase letters and digits, unique in Azure.
   * @default derived from the construct path
   */
  readonly accountName?: string;
}

/** Azure's built-in role that reads blobs and nothing else. */
const STORAGE_BLOB_DATA_READER = 'Storage Blob Data Reader';

/**
 * The Azure skill registry: a storage account that takes no shared keys and serves no public blob,
 * one private container holding the skills folder and the same index the AWS SkillBucket publishes,
 * and read granted per agent identity on that container only. Skills are checked at synth with the
 * same rules as on AWS.
 */
export class AzureSkillStore extends Construct {
  readonly account: StorageAccount;
  readonly container: StorageContainer;
  readonly index: SkillIndex;

  constructor(scope: Construct, id: string, props: AzureSkillStoreProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const folder = resolve(props.path);
    this.index = readSkillsFolder(folder);
    this.account = privateStorageAccount(this, 'Account', {
      name: props.accountName ?? storageAccountName(this),
      resourceGroupName: props.resourceGroupName,
      location: props.location,
    });
    this.container = new StorageContainer(this, 'Container', { name: 'skills', storageAccountId: this.account.id, containerAccessType: 'private' });
    const uploads = afterRolePropagation(this, 'DeployerUploadsPropagated', [assignDeployer(this, 'DeployerUploads', this.container.resourceManagerId, 'Storage Blob Data Contributor')]);
    // Skills are text; their content goes into the plan, so a changed skill is a changed blob.
    const files = this.index.skills.flatMap((s) => [SKILL_FILE, ...s.files].map((f) => `${s.name}/${f}`));
    files.forEach((name, i) => {
      new StorageBlob(this, `Blob${i}`, {
        name,
        storageAccountName: this.account.name,
        storageContainerName: this.container.name,
        type: 'Block',
        contentType: name.endsWith('.md') ? 'text/markdown; charset=utf-8' : 'text/plain; charset=utf-8',
        sourceContent: readFileSync(join(folder, name), 'utf8'),
        dependsOn: [uploads],
      });
    });
    new StorageBlob(this, 'Index', {
      name: SKILL_INDEX_KEY,
      storageAccountName: this.account.name,
      storageContainerName: this.container.name,
      type: 'Block',
      contentType: 'application/json',
      sourceContent: JSON.stringify(this.index),
      dependsOn: [uploads],
    });
  }

  has(skill: string): boolean {
    return this.index.skills.some((s) => s.name === skill);
  }

  /**
   * Lets an identity read the skills container and nothing else in the account. Blob data roles
   * scope to a container, not to a prefix, so every agent reading skills may read them all.
   */
  grantRead(principal: AzurePrincipal, id: string): TerraformResource {
    return assignRole(this, `Reader-${id}`, this.container.resourceManagerId, STORAGE_BLOB_DATA_READER, principal);
  }
}
