#!/usr/bin/env node
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { formatTerraformSummary, summarizeTerraform } from './summary';

/**
 * Shows that CDK Terrain (`cdktn`), the maintained fork of CDK for Terraform, replaces it by a
 * change to constructs/azure/engine.ts alone: installs the fork in .cdktn/ (outside the project's
 * dependencies), copies the sources to .cdktn/work/ with only engine.ts rewritten, synthesizes the
 * Azure app there into cdktn.out, and compares the resources with cdktf.out. The app runs directly
 * (`app.synth()`): the cdktn CLI needs Node >= 22.19.
 */
const root = resolve(__dirname, '..');
const home = join(root, '.cdktn');
const work = join(home, 'work');
const outdir = join(root, 'cdktn.out');
const ENGINE = 'constructs/azure/engine.ts';
const VERSIONS: Record<string, string> = { cdktn: '0.24.0', '@cdktn/provider-azurerm': '16.1.0', constructs: '10.8.1' };

const started = Date.now();
const lap = (() => {
  let last = started;
  return (what: string) => {
    const now = Date.now();
    console.log(`${what}: ${((now - last) / 1000).toFixed(1)} s`);
    last = now;
  };
})();
const version = (dir: string): string | undefined => {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
};

// 1. The fork, installed apart from the project's node_modules.
if (Object.entries(VERSIONS).some(([name, v]) => version(join(home, 'node_modules', name)) !== v)) {
  mkdirSync(home, { recursive: true });
  const manifest = {
    private: true,
    dependencies: VERSIONS,
    // The provider asks for cdktn ^0.23, of which none is published, and cdktn for constructs
    // below 10.8: both are pinned to the one copy installed here, which the project also runs.
    overrides: { cdktn: '$cdktn', constructs: '$constructs' },
  };
  writeFileSync(join(home, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: home, stdio: 'inherit' });
  if (npm.status !== 0) process.exit(npm.status ?? 1);
  lap('npm install in .cdktn');
}

// 2. The sources, tracked or new, with the engine's import specifiers renamed and nothing else.
rmSync(work, { recursive: true, force: true });
const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((f) => f && existsSync(join(root, f)));
for (const f of files) {
  mkdirSync(dirname(join(work, f)), { recursive: true });
  copyFileSync(join(root, f), join(work, f));
}
const engine = readFileSync(join(root, ENGINE), 'utf8').replace(/(from ')(cdktf|@cdktf\/provider-azurerm)(?=['/])/g, (_, from: string, pkg: string) => from + pkg.replace('cdktf', 'cdktn'));
if (/from '(cdktf|@cdktf\/)/.test(engine) || !engine.includes("from 'cdktn'")) throw new Error(`${ENGINE}: the import specifiers did not rewrite as expected`);
writeFileSync(join(work, ENGINE), engine);

const differing = readdirSync(work, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => relative(work, join(e.parentPath, e.name)))
  .filter((f) => !existsSync(join(root, f)) || !readFileSync(join(root, f)).equals(readFileSync(join(work, f))));
if (differing.join() !== ENGINE) throw new Error(`the work copy must differ from the repository in ${ENGINE} only, not in: ${differing.join(', ')}`);

// 3. node_modules: the project's packages, but the engine from .cdktn. The old engine gets a
// package that throws: left out, Node would find it in the repository's node_modules further up.
const packages = (dir: string) =>
  readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(dir, n)).map((c) => `${n}/${c}`) : [n]));
const fromFork = (name: string) => name === 'constructs' || name === 'cdktn' || name.startsWith('@cdktn/');
const oldEngine = (name: string) => name === 'cdktf' || name.startsWith('@cdktf/');
const modules = join(work, 'node_modules');
const link = (name: string, dir: string) => {
  mkdirSync(dirname(join(modules, name)), { recursive: true });
  symlinkSync(join(dir, name), join(modules, name), 'dir');
};
for (const name of packages(join(root, 'node_modules'))) {
  if (oldEngine(name)) {
    mkdirSync(join(modules, name), { recursive: true });
    writeFileSync(join(modules, name, 'package.json'), JSON.stringify({ name, version: '0.0.0', exports: { '.': './index.js', './*': './index.js' } }));
    writeFileSync(join(modules, name, 'index.js'), `throw new Error(${JSON.stringify(`${name} (CDK for Terraform) is not installed in the CDK Terrain work copy: only ${ENGINE} imports the engine, from cdktn`)});\n`);
  } else if (!fromFork(name)) link(name, join(root, 'node_modules'));
}
for (const name of packages(join(home, 'node_modules')).filter(fromFork)) link(name, join(home, 'node_modules'));
lap(`work copy (${files.length} files)`);

// 4. Synthesis. Each process records the modules it loaded, to check that the app loads one
// constructs and neither aws-cdk-lib nor the old engine. It runs from the repository root, as
// `cdktf synth` does: the local backend's state path is the working directory's, and one inside
// .cdktn/work would be deleted with the next work copy.
rmSync(outdir, { recursive: true, force: true });
const loadedList = join(home, 'loaded-modules.txt');
const recorder = join(home, 'record-loaded-modules.cjs');
rmSync(loadedList, { force: true });
writeFileSync(recorder, `process.on('exit', () => require('node:fs').appendFileSync(${JSON.stringify(loadedList)}, Object.keys(require.cache).join('\\n') + '\\n'));\n`);
const synthStarted = Date.now();
const synth = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(work, 'bin', 'azure.ts')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CDKTF_OUTDIR: outdir, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(recorder)}`.trim() },
});
const synthMs = Date.now() - synthStarted;
if (synth.status !== 0) {
  console.error(`synth with CDK Terrain failed (exit ${synth.status ?? synth.signal})`);
  process.exit(synth.status ?? 1);
}
lap('synth with CDK Terrain');

const packageRoots = new Set(
  readFileSync(loadedList, 'utf8')
    .split('\n')
    .map((p) => /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1])
    .filter((p): p is string => !!p),
);
const named = (name: string) => [...packageRoots].filter((p) => p.endsWith(`/node_modules/${name}`));
const constructsCopies = named('constructs').map((p) => `${relative(root, p)}@${version(p)}`);
const forbidden = [...packageRoots].filter((p) => /\/node_modules\/(aws-cdk-lib|cdktf|@cdktf\/[^/]+)$/.test(p));
if (forbidden.length || constructsCopies.length !== 1 || !constructsCopies[0]!.endsWith(`@${VERSIONS.constructs}`)) {
  throw new Error(`the synth must load one constructs ${VERSIONS.constructs} and no aws-cdk-lib or cdktf; loaded constructs: ${constructsCopies.join(', ') || 'none'}; also: ${forbidden.map((p) => relative(root, p)).join(', ') || 'nothing'}`);
}
console.log(`loaded: ${constructsCopies[0]}, ${[...named('cdktn'), ...named('@cdktn/provider-azurerm')].map((p) => `${relative(root, p)}@${version(p)}`).join(', ')}`);

const summary = summarizeTerraform(outdir);
console.log(formatTerraformSummary(summary, synthMs, 'cdktn.out'));

// 5. The same resources as the default engine's output, if there is one.
type Stack = { resource?: Record<string, Record<string, Record<string, unknown>>>; terraform?: { required_providers?: Record<string, { version?: string }> } };
const stacks = (dir: string) => {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { synthesizedStackPath: string }> };
  return new Map(Object.entries(manifest.stacks).map(([name, s]) => [name, JSON.parse(readFileSync(join(dir, s.synthesizedStackPath), 'utf8')) as Stack]));
};
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([k1], [k2]) => k1.localeCompare(k2))) : x)) ?? '';
const cdktfOut = join(root, 'cdktf.out');
if (existsSync(join(cdktfOut, 'manifest.json'))) {
  const [before, after] = [stacks(cdktfOut), stacks(outdir)];
  const differences: string[] = [];
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const [b, a] = [before.get(name), after.get(name)];
    if (!b || !a) {
      differences.push(`${name}: only in ${b ? 'cdktf.out' : 'cdktn.out'}`);
      continue;
    }
    for (const type of new Set([...Object.keys(b.resource ?? {}), ...Object.keys(a.resource ?? {})])) {
      const [rb, ra] = [b.resource?.[type] ?? {}, a.resource?.[type] ?? {}];
      const [nb, na] = [Object.keys(rb).length, Object.keys(ra).length];
      if (nb !== na) differences.push(`${name}: ${type}: ${nb} with cdktf, ${na} with cdktn`);
      // Attribute renames between provider versions would show here. The runtime blob's name and
      // source differ anyway: they follow the bundle's hash, and esbuild names chunks by source
      // paths, which are the work copy's.
      for (const id of Object.keys(ra).filter((id) => id in rb)) {
        const attrs = Object.keys({ ...rb[id]!, ...ra[id]! }).filter((k) => canonical(rb[id]![k]) !== canonical(ra[id]![k]));
        if (attrs.length) differences.push(`${name}: ${type}.${id}: ${attrs.join(', ')} differ`);
      }
    }
    const azurerm = (s: Stack) => s.terraform?.required_providers?.azurerm?.version;
    if (azurerm(b) !== azurerm(a)) differences.push(`${name}: azurerm provider ${azurerm(b)} with cdktf, ${azurerm(a)} with cdktn`);
  }
  console.log(`  compared with cdktf.out: ${differences.length ? `${differences.length} difference(s)` : 'the same resources and attributes in every stack'}`);
  for (const d of differences) console.log(`    ${d}`);
} else {
  console.log('  no cdktf.out to compare with (npm run synth writes one)');
}
console.log(`total: ${((Date.now() - started) / 1000).toFixed(1)} s`);

if (summary.findings.length > 0) process.exit(1);
