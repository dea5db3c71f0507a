#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { CDKTF_CLI_ENV } from './cdktf-cli';
import { ENVIRONMENTS_FILE } from './config';
import { readEnvironments } from '../contract/delivery/environments';
import { formatEnvironmentSummary, formatSummary, formatTerraformSummary, summarizeAssembly, summarizeTerraform } from './summary';

/**
 * The main command: synthesizes every example stack for both clouds with the project's pinned
 * CLIs, offline, and prints what came out: `cdk synth` into cdk.out for AWS, `cdktf synth` into
 * cdktf.out for Azure. Extra arguments go to `cdk synth` (for example `-c stage=dev`).
 * Fails when a stack breaks a security rule without an acknowledged reason.
 */
const root = resolve(__dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
  return Date.now() - started;
}

const awsOut = join(root, 'cdk.out');
const awsMs = run(bin('cdk'), ['synth', '--quiet', '--output', awsOut, ...process.argv.slice(2)]);
const aws = summarizeAssembly(awsOut);
console.log(formatSummary(aws, awsMs));

const azureOut = join(root, 'cdktf.out');
const azureMs = run(bin('cdktf'), ['synth', '--output', azureOut], CDKTF_CLI_ENV);
const azure = summarizeTerraform(azureOut);
console.log(formatTerraformSummary(azure, azureMs));
console.log(formatEnvironmentSummary(readEnvironments(ENVIRONMENTS_FILE), aws.stacks, azure.stacks));

if (aws.openFindings > 0 || aws.unexplained > 0 || azure.findings.length > 0) process.exit(1);
