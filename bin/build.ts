#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bundleFromSource, RUNTIMES, type RuntimeBundle } from '../constructs/bundle/runtime-bundle';

/**
 * Builds the package into dist/: the library as JavaScript with type declarations (tsc), and each
 * cloud's runtime bundle (esbuild), which the constructs deploy as they are, so a consumer's synth
 * needs no bundler and every consumer deploys the same bytes.
 */
const root = resolve(__dirname, '..');
const dist = join(root, 'dist');
const started = Date.now();

rmSync(dist, { recursive: true, force: true });
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
for (const cloud of Object.keys(RUNTIMES) as RuntimeBundle[]) {
  for (const file of bundleFromSource(cloud)) {
    const target = join(dist, 'runtime', cloud, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
  }
}
console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
