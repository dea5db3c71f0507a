import type { ContainerClient } from '@azure/storage-blob';
import type { SkillStore } from '../core/skills/store';

/**
 * Skills from the AzureSkillStore's container: `index.json`, `<skill>/SKILL.md`, ... The same
 * port as the S3 store on AWS; the core does not know which one it reads.
 */
export class BlobSkillStore implements SkillStore {
  constructor(private readonly container: ContainerClient) {}

  async read(path: string): Promise<string | undefined> {
    try {
      return (await this.container.getBlobClient(path).downloadToBuffer()).toString('utf8');
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  }
}
