import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, writeSection } from '../report';

/**
 * `npm run bench:fleet`: the fleet example (agents generated from three templates) synthesized with
 * the AwsSolutions and Serverless rule packs, laid out by AgentFleet at 1, 100, 500 and 1000
 * agents, beside the baseline of every agent in one stack. Each size runs once, in a process of its
 * own (`app.ts`), so its peak memory is its own.
 */
interface Sample {
  synthMs: number;
  peakRssMb: number;
  stacks: { resources: number; bytes: number; plans?: number; storageAccounts?: number; roleAssignments?: number }[];
  error?: string;
}

const FLEET_SIZES = (process.env.BENCH_FLEET_SIZES ?? '1,100,500,1000').split(',').map(Number);
const BASELINE_SIZES = [1, 50, 100];

function measure(layout: 'fleet' | 'stack' | 'azure', count: number): Sample {
  const outdir = mkdtempSync(join(tmpdir(), `bench-fleet-${layout}-`));
  try {
    execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, 'app.ts'), layout, String(count), outdir], { stdio: ['ignore', 'ignore', 'inherit'] });
    return JSON.parse(readFileSync(join(outdir, 'bench.json'), 'utf8')) as Sample;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function row(layout: string, count: number, s: Sample, base?: { count: number; sample: Sample }): string {
  if (s.error) return `| ${layout} | ${count} | fails: ${s.error.replace(/\|/g, '/').slice(0, 90)}… | | | | | | |`;
  const largest = s.stacks.reduce((a, b) => (b.resources > a.resources ? b : a));
  const resources = s.stacks.reduce((n, st) => n + st.resources, 0);
  const bytes = s.stacks.reduce((n, st) => n + st.bytes, 0);
  const perAgent = base && !base.sample.error ? ((s.synthMs - base.sample.synthMs) / (count - base.count)).toFixed(0) : '';
  return `| ${layout} | ${count} | ${(s.synthMs / 1000).toFixed(1)} s | ${s.peakRssMb.toFixed(0)} MB | ${s.stacks.length} | ${largest.resources} resources, ${(Math.max(...s.stacks.map((st) => st.bytes)) / 1000).toFixed(0)} KB | ${(resources / count).toFixed(1)} | ${(bytes / count / 1000).toFixed(1)} KB | ${perAgent && `${perAgent} ms`} |`;
}

const fleet = FLEET_SIZES.map((count) => ({ count, sample: measure('fleet', count) }));
const baseline = BASELINE_SIZES.map((count) => ({ count, sample: measure('stack', count) }));
const azure = FLEET_SIZES.map((count) => ({ count, sample: measure('azure', count) }));
console.log(JSON.stringify({ fleet, baseline, azure }));
/** Per agent on Azure, from the largest fleet that synthesized: plans, storage accounts, role assignments. */
const largest = [...azure].reverse().find((a) => !a.sample.error && a.count > 1);
const sum = (key: 'plans' | 'storageAccounts' | 'roleAssignments') => largest!.sample.stacks.reduce((n, st) => n + (st[key] ?? 0), 0);
const azureRows = azure.map(({ count, sample }) =>
  sample.error
    ? `| ${count} | fails at synth, ${sample.error} | ${(sample.synthMs / 1000).toFixed(1)} s | ${sample.peakRssMb.toFixed(0)} MB | | |`
    : `| ${count} | ${sample.stacks.length} stacks, the largest ${Math.max(...sample.stacks.map((st) => st.resources))} resources | ${(sample.synthMs / 1000).toFixed(1)} s | ${sample.peakRssMb.toFixed(0)} MB | ${sample.stacks.reduce((n, st) => n + (st.storageAccounts ?? 0), 0)} | ${sample.stacks.reduce((n, st) => n + (st.roleAssignments ?? 0), 0)} |`,
);
const lines = [
  ...fleet.map((f, i) => row('AgentFleet', f.count, f.sample, fleet[i - 1])),
  ...baseline.map((b, i) => row('one stack (baseline)', b.count, b.sample, baseline[i - 1])),
];
const at = (n: number) => fleet.find((f) => f.count === n)?.sample;
const ratio = at(1000) && at(500) && !at(1000)!.error && !at(500)!.error ? (at(1000)!.synthMs / at(500)!.synthMs).toFixed(2) : 'n/a';
writeSection(
  'fleet',
  `## Fleets: hundreds of agents in one app (\`npm run bench:fleet\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.

The fleet example (\`stacks/fleet/fleet-agents.ts\`: the stage-1 support agent as three templates, a plain API
agent, the support agent with jobs and a schedule, a queue worker) synthesized by \`cdk synth\`'s app with the
AwsSolutions and Serverless rule packs on, each size once in a process of its own. *Baseline*: every agent in
one stack, as the constructs allowed before AgentFleet. Per-agent figures count every stack (platform and API
included); "per extra agent" is the synth time added per agent since the row above.

| layout | agents | synth | peak memory | stacks | largest stack | resources per agent | template per agent | per extra agent |
|---|---:|---:|---:|---:|---|---:|---:|---:|
${lines.join('\n')}

1000 agents take ${ratio}x the time of 500 (the target is at most 2.2x: time per agent stays flat). AgentFleet
keeps 50 agents per shard: the largest shard stays under the stack budget (450 resources, 800 KB) that
synth checks, below CloudFormation's 500 and 1 MB. The API's integration role holds one statement for every
agent, whatever their number.

On Azure, \`AzureAgentFleet\` (platform stack, shard stacks with their own state, one Consumption plan per shard of
50), with its secure-default and quota checks; each size once in a process of its own:

| agents | synth | time | peak memory | storage accounts | role assignments |
|---:|---|---:|---:|---:|---:|
${azureRows.join('\n')}

Per agent on Azure, beside the quotas of one region and subscription${largest ? ` (measured at ${largest.count} agents)` : ''}:

| | plans | storage accounts | role assignments | agents that fit |
|---|---:|---:|---:|---:|
| quota | 100 per region | 250 per region | 4,000 per subscription | |
| before (one plan per agent, as the example stacks; \`bench:azure-synth\`) | 1 | 2 | 10 | 100 (plans) |
${largest ? `| AzureAgentFleet | ${(sum('plans') / largest.count).toFixed(2)} | ${(sum('storageAccounts') / largest.count).toFixed(2)} | ${(sum('roleAssignments') / largest.count).toFixed(1)} | ${Math.floor(Math.min(100 / (sum('plans') / largest.count), 250 / (sum('storageAccounts') / largest.count), 4000 / (sum('roleAssignments') / largest.count)))} (storage accounts) |` : ''}

Sharing plans per shard lifts the plan quota; each agent still has its own state and audit accounts and
about nine role assignments, so a region and subscription holds about 120 agents: sharing those per shard
is the remaining work for 1000.`,
);
