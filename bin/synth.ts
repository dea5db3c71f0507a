#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { summarizeAssembly, formatSummary } from './summary';

/**
 * The main command: synthesizes every example stack with the project's pinned CDK CLI, offline,
 * and prints what came out. Extra arguments go to `cdk synth` (for example `-c stage=dev`).
 */
const root = resolve(__dirname, '..');
const outdir = join(root, 'cdk.out');
const started = Date.now();
const cdk = spawnSync(join(root, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--output', outdir, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
if (cdk.status !== 0) process.exit(cdk.status ?? 1);
const summary = summarizeAssembly(outdir);
console.log(formatSummary(summary, Date.now() - started));
if (summary.openFindings > 0 || summary.unexplained > 0) process.exit(1);

