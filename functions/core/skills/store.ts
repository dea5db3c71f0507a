import type { SkillIndex } from '../../../contract/skills/format';

/**
 * Where an agent's skills come from: S3 on AWS, Blob storage on Azure, a local folder when
 * developing. Paths are relative to the store's root: `index.json`, `<skill>/SKILL.md`, ...
 */
export interface SkillStore {
  /** A file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
}

/**
 * Keeps what a store returned for the life of the process: skills change only with a deploy, which
 * starts new execution environments, so warm invocations never fetch the same file twice.
 */
export class CachedSkillStore implements SkillStore {
  private readonly cache = new Map<string, Promise<string | undefined>>();

  constructor(private readonly inner: SkillStore) {}

  read(path: string): Promise<string | undefined> {
    let hit = this.cache.get(path);
    if (!hit) {
      hit = this.inner.read(path);
      this.cache.set(path, hit);
      hit.catch(() => this.cache.delete(path));
    }
    return hit;
  }
}

export type { SkillIndex };
