import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerProject, packProject, readmeExample, type PackageSource } from '../../test/__fixtures__/consumer';
import { machine, median, ROOT, SYNTH_RUNS, writeSection } from '../report';

/**
 * What a team installs, and how long its synth takes. Install size: an AWS-only app and a
 * both-clouds app, each installing the package and the toolkit it needs, with the package as it
 * was before it was built for installing (BENCH_BEFORE, the TypeScript sources with every runtime
 * and cloud dependency) and as it is now. Synth time: the README's two apps compiled and run with
 * plain node from the installed package, beside the same apps run from this repository's sources
 * with tsx (where the runtime is bundled from source on every run). Installs are offline, from the
 * npm cache the repository's own `npm ci` filled.
 */
const BEFORE = process.env.BENCH_BEFORE ?? '7f4a63b';

/** Bytes (of the files, and on disk) and packages under a node_modules folder. */
function installed(dir: string): { bytes: number; diskBytes: number; packages: number } {
  const modules = join(dir, 'node_modules');
  const diskBytes = Number(execFileSync('du', ['-sk', modules], { encoding: 'utf8' }).split('\t')[0]) * 1024;
  let bytes = 0;
  for (const entry of readdirSync(modules, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  const packages = readdirSync(modules, { recursive: true }).filter((p) => /(^|\/)node_modules\/(@[^/]+\/)?[^/@]+\/package\.json$/.test(`node_modules/${p}`)).length;
  return { bytes, diskBytes, packages };
}

/** The package as it was at `commit`, packed: a tarball and a checkout holding its lockfile. */
function packAt(commit: string): PackageSource {
  const root = mkdtempSync(join(tmpdir(), 'serverless-agents-before-'));
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C ${root}`], { cwd: ROOT });
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root], { cwd: root, encoding: 'utf8' });
  const [{ filename }] = JSON.parse(out) as { filename: string }[];
  return { tarball: join(root, filename), root };
}

const AWS = ['aws-cdk-lib', 'constructs'];
const BOTH = [...AWS, 'cdktf', '@cdktf/provider-azurerm'];

const before = packAt(BEFORE);
const now: PackageSource = { tarball: packProject(), root: ROOT };
const sizes = [
  { app: 'AWS only', deps: AWS },
  { app: 'AWS and Azure', deps: BOTH },
].map(({ app, deps }) => {
  const measure = (source: PackageSource) => {
    const started = performance.now();
    const dir = consumerProject('bench-size', deps, {}, source);
    return { ...installed(dir), installMs: performance.now() - started };
  };
  return { app, before: measure(before), now: measure(now) };
});

/** The README's apps: from the installed package with plain node, and from the sources with tsx. */
const examples = [
  { cloud: 'AWS', marker: 'Compose the constructs in your own stack (AWS)', file: 'app', deps: [...AWS, 'cdk-nag'], env: (dir: string) => ({ CDK_OUTDIR: join(dir, 'cdk.out') }) },
  { cloud: 'Azure', marker: 'The same agent on Azure', file: 'main', deps: ['cdktf', '@cdktf/provider-azurerm', 'constructs'], env: () => ({}) },
];
const synth = examples.map(({ cloud, marker, file, deps, env }) => {
  const code = readmeExample(marker);
  const files = { [`src/${file}.ts`]: code, 'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, skipLibCheck: true, outDir: 'dist', rootDir: 'src', types: ['node'] } }) };
  const consumer = consumerProject(`bench-${file}`, [...deps, 'typescript', '@types/node'], files);
  // In the repository (ignored), so the apps resolve the sources' own node_modules; absent on a fresh clone.
  mkdirSync(join(ROOT, '.bench'), { recursive: true });
  const fromSources = mkdtempSync(join(ROOT, '.bench', `${file}-`));
  for (const dir of [consumer, fromSources]) {
    cpSync(join(ROOT, 'skills'), join(dir, 'skills'), { recursive: true });
    mkdirSync(join(dir, 'agents'), { recursive: true });
    for (const f of ['support.agent.yaml', 'support.instructions.md']) cpSync(join(ROOT, 'stacks/single-agent', f), join(dir, 'agents', f));
  }
  execFileSync(process.execPath, [join(consumer, 'node_modules/typescript/bin/tsc'), '-p', consumer]);
  // The same app against the repository's sources.
  writeFileSync(
    join(fromSources, `${file}.ts`),
    code
      .replace(/from 'serverless-agents'/g, `from '${join(ROOT, 'contract')}'`)
      .replace(/from 'serverless-agents\/aws'/g, `from '${join(ROOT, 'constructs/aws')}'`)
      .replace(/from 'serverless-agents\/azure'/g, `from '${join(ROOT, 'constructs/azure')}'`),
  );
  const time = (dir: string, command: string, args: string[]) =>
    median(
      Array.from({ length: SYNTH_RUNS }, () => {
        const started = performance.now();
        const result = spawnSync(command, args, { cwd: dir, env: { ...process.env, ...env(dir) }, encoding: 'utf8' });
        if (result.status !== 0) throw new Error(`${cloud} synth in ${dir} failed:\n${result.stdout}${result.stderr}`);
        return performance.now() - started;
      }),
    );
  return {
    cloud,
    installedMs: time(consumer, process.execPath, [`dist/${file}.js`]),
    sourcesMs: time(fromSources, join(ROOT, 'node_modules/.bin/tsx'), [`${file}.ts`]),
  };
});

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const [aws, both] = sizes as [(typeof sizes)[0], (typeof sizes)[0]];
writeSection(
  'package',
  `## The installed package (\`npm run bench:package\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}; synth times are the median of ${SYNTH_RUNS} runs.
*Files* is the size of every file under the app's \`node_modules\` (*on disk*: what \`du\` counts) after \`npm ci\` of the package and the
toolkit the app needs (\`aws-cdk-lib\` and \`constructs\`; for both clouds also \`cdktf\` and
\`@cdktf/provider-azurerm\`), offline from the npm cache. *Before* is the package at \`${BEFORE}\`,
before it was built for installing: TypeScript sources, with every runtime SDK, CDK for Terraform
and the Azure SDKs as dependencies of any install (and no way to run it with plain \`node\`).

| app | files before | files now | on disk before | on disk now | packages before | packages now | npm ci now |
|---|---:|---:|---:|---:|---:|---:|---:|
${sizes.map((s) => `| ${s.app} | ${mib(s.before.bytes)} MiB | ${mib(s.now.bytes)} MiB | ${mib(s.before.diskBytes)} MiB | ${mib(s.now.diskBytes)} MiB | ${s.before.packages} | ${s.now.packages} | ${(s.now.installMs / 1000).toFixed(1)} s |`).join('\n')}

*Synth* is the README's example app (one agent), compiled with \`tsc\` and run with plain \`node\`
from the installed package, beside the same app run from this repository's sources with \`tsx\`,
which also bundles the runtime with esbuild on each run; the AWS app runs the cdk-nag packs.

| app | installed package, node | repository sources, tsx |
|---|---:|---:|
${synth.map((s) => `| ${s.cloud} | ${(s.installedMs / 1000).toFixed(2)} s | ${(s.sourcesMs / 1000).toFixed(2)} s |`).join('\n')}

- An AWS-only app installs ${mib(aws.now.bytes)} MiB instead of ${mib(aws.before.bytes)} MiB (${(aws.before.bytes / aws.now.bytes).toFixed(1)}x less); with both clouds, ${mib(both.now.bytes)} MiB instead of ${mib(both.before.bytes)} MiB. aws-cdk-lib is most of the AWS install, the azurerm provider most of the Azure one.
- The package itself is ${(statSync(now.tarball).size / 1024).toFixed(0)} KiB packed, its three runtime bundles included (AWS, Azure Functions, and the Azure container, whose own bundle carries the Service Bus SDK).
`,
);
console.log(JSON.stringify({ sizes, synth }, null, 2));
