import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface StagedFile {
  /** Path inside the folder, with forward slashes. */
  readonly path: string;
  readonly content: string | Buffer;
}

/**
 * Writes files into a folder named by their content hash and returns it. The same content maps to
 * the same folder, so repeated synths reuse it instead of leaving a new temporary folder each time,
 * and concurrent processes can't see a half-written one (it is renamed into place).
 */
export function stageFiles(kind: string, files: readonly StagedFile[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) hash.update(f.path).update('\0').update(f.content).update('\0');
  const root = join(tmpdir(), 'serverless-agents');
  const dir = join(root, `${kind}-${hash.digest('hex').slice(0, 20)}`);
  if (existsSync(dir)) return dir;
  mkdirSync(root, { recursive: true });
  const partial = mkdtempSync(join(root, `.${kind}-`));
  for (const f of files) {
    mkdirSync(dirname(join(partial, f.path)), { recursive: true });
    writeFileSync(join(partial, f.path), f.content);
  }
  try {
    renameSync(partial, dir);
  } catch (e) {
    // Another process staged the same content first.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
  }
  return dir;
}
