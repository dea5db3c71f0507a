import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { readSkillsFolder, SKILL_INDEX_KEY } from '../../contract/skills/catalog';
import type { SkillStore } from '../core/skills/store';

/**
 * A skills folder on disk, for development and tests. It serves the same index the deployed
 * stores hold, built from the folder with the same checks.
 */
export class LocalSkillStore implements SkillStore {
  private readonly root: string;

  constructor(folder: string) {
    this.root = resolve(folder);
  }

  async read(path: string): Promise<string | undefined> {
    if (path === SKILL_INDEX_KEY) return JSON.stringify(readSkillsFolder(this.root));
    const file = resolve(this.root, path);
    if (!file.startsWith(this.root + sep)) return undefined;
    try {
      return await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
  }
}
