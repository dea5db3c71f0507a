import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';

/**
 * The files of an ES module bundle that load when its entry is imported: the entry and the chunks
 * it imports statically, transitively. Chunks behind `import()` load on first use and are not here.
 */
export function filesLoadedAtStart(dir: string, file = 'index.mjs', seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const text = readFileSync(join(dir, file), 'utf8');
  const imports = [...text.matchAll(/(?:^|[;}\n])\s*import\s*(?:[^'"()]*?from\s*)?["'](\.\/[^"']+)["']/g)].map((m) => join(file, '..', m[1]!).split(sep).join('/'));
  return [file, ...imports.flatMap((f) => filesLoadedAtStart(dir, f, seen))];
}
