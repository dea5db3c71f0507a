import { existsSync } from 'node:fs';
import type { BuildOptions } from 'esbuild';
import { join, relative, resolve, sep } from 'node:path';
import { stageFiles, type StagedFile } from './staging';

/**
 * The one runtime bundle per cloud that every agent runs: 500 agents are 500 configurations of one
 * artifact, not 500 bundles. The built package ships both bundles (`dist/runtime/<cloud>`), as
 * aws-cdk-lib ships its handlers, so a consumer's synth needs no bundler and every consumer deploys
 * the same bytes. Run from the sources (the repository's tests, apps and benchmarks), the bundle
 * is built from `functions/` with esbuild instead, once per process.
 */
export type RuntimeCloud = 'aws' | 'azure';

/** How the runtime is bundled for either cloud; the benchmark builds its floor with the same options. */
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

/** The source root: the repository when run from sources, where `functions/` lives. */
const SOURCE_ROOT = resolve(__dirname, '..', '..');

/**
 * The host settings every Azure agent app shares. The extension bundle brings the Service Bus,
 * Event Grid and timer triggers; per-agent values (the timeout) are app settings that override these.
 */
const AZURE_HOST_JSON = {
  version: '2.0',
  extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' },
  logging: { applicationInsights: { samplingSettings: { isEnabled: true, excludedTypes: 'Request' } } },
  extensions: { serviceBus: { maxConcurrentCalls: 4, autoCompleteMessages: true } },
};

/** The container entry: `node container.mjs` in an image, AgentCore's entrypoint. */
export const CONTAINER_ENTRY = 'container.mjs';

/**
 * The bundles the package ships: each cloud's function runtime and the Azure container's. On AWS
 * the container entry sits beside the function's and shares its chunks (one artifact for Lambda,
 * Fargate and AgentCore); on Azure the container is a bundle of its own, so the Service Bus SDK it
 * needs to read its queue does not weigh on every Function App's package (the Functions host reads
 * the queue there).
 */
export type RuntimeBundle = RuntimeCloud | 'azure-container';

/** Each bundle's entry points (file name without `.mjs`: source), what its platform provides at run time, and the files beside the code. */
export const RUNTIMES: Record<RuntimeBundle, { readonly entries: Readonly<Record<string, string>>; readonly external: readonly string[]; readonly extraFiles: readonly StagedFile[] }> = {
  aws: { entries: { index: 'functions/aws/handler.ts', container: 'functions/container/aws-entry.mts' }, external: [], extraFiles: [] },
  azure: {
    entries: { index: 'functions/azure/app.mts' },
    // The Functions worker provides this module to the library at run time.
    external: ['@azure/functions-core'],
    extraFiles: [
      { path: 'host.json', content: JSON.stringify(AZURE_HOST_JSON, null, 2) },
      { path: 'package.json', content: JSON.stringify({ name: 'serverless-agents-runtime', type: 'module', main: 'index.mjs' }, null, 2) },
    ],
  },
  'azure-container': {
    entries: { container: 'functions/container/azure-entry.mts' },
    external: [],
    extraFiles: [{ path: 'package.json', content: JSON.stringify({ name: 'serverless-agents-container', type: 'module', main: CONTAINER_ENTRY }, null, 2) }],
  },
};

/** The bundle a cloud's container image is built from. */
export const CONTAINER_BUNDLE: Readonly<Record<RuntimeCloud, RuntimeBundle>> = { aws: 'aws', azure: 'azure-container' };

const built = new Map<RuntimeBundle, string>();

/**
 * The folder holding a bundle (`index.mjs` or `container.mjs`, its chunks, and for Azure
 * `host.json` and `package.json`): the one the package ships, or else built from the sources on
 * first use.
 */
export function runtimeBundleDir(cloud: RuntimeBundle): string {
  let dir = built.get(cloud);
  if (!dir) {
    // Compiled, this module is dist/constructs/bundle/, beside dist/runtime/.
    const shipped = resolve(__dirname, '..', '..', 'runtime', cloud);
    const first = `${Object.keys(RUNTIMES[cloud].entries)[0]}.mjs`;
    dir = existsSync(join(shipped, first)) ? shipped : stageFiles(`runtime-${cloud}`, bundleFromSource(cloud));
    built.set(cloud, dir);
  }
  return dir;
}

/** Bundles a cloud's runtime from the sources with esbuild, as files for a folder. */
export function bundleFromSource(cloud: RuntimeBundle): StagedFile[] {
  const { entries, external, extraFiles } = RUNTIMES[cloud];
  const sources = Object.fromEntries(Object.entries(entries).map(([name, entry]) => [name, join(SOURCE_ROOT, entry)]));
  if (!Object.values(sources).every((source) => existsSync(source))) {
    throw new Error(`the ${cloud} runtime bundle is missing from this copy of serverless-agents (dist/runtime/${cloud}) and its sources are not here to build it: reinstall the package`);
  }
  const outdir = resolve('/runtime');
  const { outputFiles } = esbuild().buildSync({ ...RUNTIME_BUNDLE_OPTIONS, entryPoints: sources, outdir, write: false, external: [...external] });
  return [...outputFiles.map((f) => ({ path: relative(outdir, f.path).split(sep).join('/'), content: Buffer.from(f.contents) })), ...extraFiles];
}

/** esbuild, needed only to build from the sources: a development dependency, not the package's. */
function esbuild(): typeof import('esbuild') {
  try {
    return require('esbuild') as typeof import('esbuild');
  } catch {
    throw new Error('building the runtime from the sources needs esbuild: npm install --save-dev esbuild');
  }
}
