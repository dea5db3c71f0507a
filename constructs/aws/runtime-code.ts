import { relative, resolve, sep } from 'node:path';
import { buildSync, type BuildOptions } from 'esbuild';
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { stageFiles } from './staging';

/**
 * The one runtime bundle that every AgentFunction runs. It is built once per process, whatever the
 * number of agents or stacks, and staged once in the cloud assembly because its content hash is the
 * same everywhere: 500 agents are 500 configurations of one artifact, not 500 bundles.
 */

/** The runtime's Lambda entry point, relative to the package root. */
export const RUNTIME_ENTRY = resolve(__dirname, '..', '..', 'functions', 'aws', 'handler.ts');
/** The handler name inside the bundle. */
export const RUNTIME_HANDLER = 'index.handler';

/** How the runtime is bundled; the benchmark builds its floor with the same options. */
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

let bundleDir: string | undefined;
const codeByStack = new WeakMap<Stack, lambda.Code>();

/** Builds the runtime bundle on first use and returns its folder. */
export function runtimeBundleDir(): string {
  if (!bundleDir) {
    const outdir = resolve('/runtime');
    const { outputFiles } = buildSync({ ...RUNTIME_BUNDLE_OPTIONS, entryPoints: { index: RUNTIME_ENTRY }, outdir, write: false });
    bundleDir = stageFiles('runtime', outputFiles.map((f) => ({ path: relative(outdir, f.path).split(sep).join('/'), content: Buffer.from(f.contents) })));
  }
  return bundleDir;
}

/**
 * The runtime code for functions in `stack`. Lambda binds one asset per stack, so each stack gets
 * one Code object; every stack's asset points at the same staged folder.
 */
export function runtimeCode(stack: Stack): lambda.Code {
  let code = codeByStack.get(stack);
  if (!code) {
    code = lambda.Code.fromAsset(runtimeBundleDir());
    codeByStack.set(stack, code);
  }
  return code;
}
