import { relative, resolve, sep } from 'node:path';
import { buildSync, type BuildOptions } from 'esbuild';
import { stageFiles, type StagedFile } from './staging';

/**
 * How the runtime is bundled for either cloud; the benchmark builds its floor with the same
 * options. Each cloud's entry point is built once per process, whatever the number of agents or
 * stacks: 500 agents are 500 configurations of one artifact, not 500 bundles.
 */
export const RUNTIME_BUNDLE_OPTIONS = {
  outExtension: { '.js': '.mjs' },
  // Providers and rarely used clients are imported on demand; as chunks they cost a cold start
  // only for the agents that use them.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  // Prefer packages' ES module builds: dynamic imports of CommonJS builds expose only `default`
  // once split into chunks, and ES modules tree-shake better.
  mainFields: ['module', 'main'],
  target: 'node22',
  format: 'esm',
  minify: true,
  legalComments: 'none',
  logLevel: 'error',
  // Bundled CommonJS dependencies call require(); ESM output has none without this shim.
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
} satisfies BuildOptions;

const built = new Map<string, string>();

/**
 * Bundles `entry` as `index.mjs` (plus its chunks and `extraFiles`) on first use and returns the
 * staged folder. `external` names modules the platform provides at run time.
 */
export function runtimeBundle(kind: string, entry: string, options: { external?: string[]; extraFiles?: readonly StagedFile[] } = {}): string {
  let dir = built.get(kind);
  if (!dir) {
    const outdir = resolve('/runtime');
    const { outputFiles } = buildSync({ ...RUNTIME_BUNDLE_OPTIONS, entryPoints: { index: entry }, outdir, write: false, ...(options.external && { external: options.external }) });
    const files = outputFiles.map((f) => ({ path: relative(outdir, f.path).split(sep).join('/'), content: Buffer.from(f.contents) }));
    dir = stageFiles(kind, [...files, ...(options.extraFiles ?? [])]);
    built.set(kind, dir);
  }
  return dir;
}
