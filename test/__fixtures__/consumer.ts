import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO } from '../helpers';

/**
 * A team's own app installing the package, as npm does it: the package packed into a tarball, and
 * a fresh project that installs it with `npm ci`. The install is offline: the project's lockfile
 * takes each dependency's exact entry (version, tarball URL, integrity) from this repository's
 * lockfile, so npm finds every tarball in the cache the repository's own `npm ci` filled, and
 * reaches no registry.
 */

type LockEntry = Record<string, any> & { version?: string; dependencies?: Record<string, string> };
type Lock = { packages: Record<string, LockEntry> };

let packed: string | undefined;

/** `npm pack` of this repository (which builds it first): the tarball's path. Once per process. */
export function packProject(): string {
  if (!packed) {
    const destination = mkdtempSync(join(tmpdir(), 'serverless-agents-pack-'));
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const [{ filename }] = JSON.parse(out.slice(out.indexOf('[')).trim()) as { filename: string }[];
    packed = join(destination, filename);
  }
  return packed;
}

/** Every lockfile entry `names` need, at the paths the repository's tree has them. */
function closure(lock: Lock, names: readonly string[]): Map<string, LockEntry> {
  const found = new Map<string, LockEntry>();
  const resolveFrom = (from: string, name: string): string => {
    for (let dir = from; ; ) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!dir) throw new Error(`the repository's lockfile has no ${name} (needed from ${from || 'the root'}): run npm ci first`);
      const cut = dir.lastIndexOf('/node_modules/');
      dir = cut < 0 ? '' : dir.slice(0, cut);
    }
  };
  const visit = (path: string) => {
    if (found.has(path)) return;
    const entry = lock.packages[path]!;
    found.set(path, entry);
    const optionalPeers = new Set(Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => (m as { optional?: boolean }).optional).map(([n]) => n));
    const needs = [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n))];
    for (const name of needs) {
      try {
        visit(resolveFrom(path, name));
      } catch (e) {
        if (!(name in (entry.optionalDependencies ?? {}))) throw e;
      }
    }
  };
  for (const name of names) visit(resolveFrom('', name));
  return found;
}

/** Which package to install, and the repository whose lockfile pins its dependencies. */
export interface PackageSource {
  readonly tarball: string;
  /** A checkout of the package's sources: its package.json and package-lock.json. */
  readonly root: string;
}

/**
 * Creates a project that depends on the packed package and on `dependencies` (at the versions the
 * package's repository pins), writes `files` into it, and installs it offline. Returns its folder.
 */
export function consumerProject(name: string, dependencies: readonly string[], files: Readonly<Record<string, string>>, source: PackageSource = { tarball: packProject(), root: REPO }): string {
  const { tarball } = source;
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const lock = JSON.parse(readFileSync(join(source.root, 'package-lock.json'), 'utf8')) as Lock;
  const own = JSON.parse(readFileSync(join(source.root, 'package.json'), 'utf8')) as Record<string, any>;
  const pinned = Object.fromEntries(dependencies.map((d) => [d, lock.packages[`node_modules/${d}`]!.version!]));
  const spec = `file:${relative(dir, tarball)}`;
  const rootDependencies = { ...pinned, 'serverless-agents': spec };

  const packages: Record<string, LockEntry> = {
    '': { name, version: '1.0.0', dependencies: rootDependencies },
    'node_modules/serverless-agents': {
      version: own.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: own.license,
      dependencies: own.dependencies,
      engines: own.engines,
      ...(own.peerDependencies && { peerDependencies: own.peerDependencies, peerDependenciesMeta: own.peerDependenciesMeta }),
    },
  };
  for (const [path, entry] of closure(lock, [...dependencies, ...Object.keys(own.dependencies)])) {
    // The repository installs these as its development tools; here they are the app's own.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry;
    packages[path] = rest;
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, dependencies: rootDependencies }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  execFileSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return dir;
}

/** The TypeScript code block of the README that follows `marker`: an app a user copies. */
export function readmeExample(marker: string): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no "${marker}"`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`README.md has no TypeScript block after "${marker}"`);
  return block[1]!;
}

