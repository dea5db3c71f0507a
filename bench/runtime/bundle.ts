import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildSync } from 'esbuild';
import { RUNTIME_BUNDLE_OPTIONS, runtimeBundleDir } from '../../constructs/bundle/runtime-bundle';
import { stageFiles } from '../../constructs/bundle/staging';
import { AGENT_CONFIG_ENV } from '../../contract/config/runtime-config';
import { SingleAgentStack } from '../../stacks/single-agent/single-agent-stack';
import { filesLoadedAtStart } from '../../test/__fixtures__/bundle-graph';

/**
 * The runtime bundle beside its floor: bytes loaded at start (the entry and the chunks it imports
 * statically; provider and rarely used clients load on demand), and cold init time, the time a
 * fresh Node process takes to import the handler module, median of RUNS. Prints JSON.
 */
const RUNS = Number(process.env.RUNS ?? 15);

function floorBundleDir(): string {
  const outdir = resolve('/floor');
  const { outputFiles } = buildSync({ ...RUNTIME_BUNDLE_OPTIONS, entryPoints: { index: join(__dirname, 'floor-entry.ts') }, outdir, write: false });
  return stageFiles('floor', outputFiles.map((f) => ({ path: relative(outdir, f.path).split(sep).join('/'), content: Buffer.from(f.contents) })));
}

/** The entry and every chunk reachable from it through static imports. */
function loadedAtStart(dir: string): number {
  return filesLoadedAtStart(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

function totalBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0);
}

function coldInitMs(entry: string, env: NodeJS.ProcessEnv): number {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '--no-warnings', '-e', `const t = performance.now(); await import(${JSON.stringify(entry)}); console.log(performance.now() - t);`], { env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', ...env }, encoding: 'utf8' });
    samples.push(Number(out.trim().split('\n').pop()));
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

const template = Template.fromStack(new SingleAgentStack(new App(), 'Bench', { env: { account: '123456789012', region: 'eu-west-1' }, models: JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context.models }));
const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((r) => r.Properties.Environment?.Variables?.[AGENT_CONFIG_ENV]);
const runtime = runtimeBundleDir('aws');
const floor = floorBundleDir();
console.log(
  JSON.stringify({
    runtime: { atStart: loadedAtStart(runtime), total: totalBytes(runtime), initMs: coldInitMs(join(runtime, 'index.mjs'), { [AGENT_CONFIG_ENV]: fn!.Properties.Environment.Variables[AGENT_CONFIG_ENV] }) },
    floor: { atStart: loadedAtStart(floor), total: totalBytes(floor), initMs: coldInitMs(join(floor, 'index.mjs'), {}) },
  }),
);
