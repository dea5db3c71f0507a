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
  stacks: { resources: number; bytes: number; plans?: number; storageAccounts?: number; roleAssignments?: number; groups?: number; memberships?: number }[];
  error?: string;
}

const FLEET_SIZES = (process.env.BENCH_FLEET_SIZES ?? '1,100,500,1000').split(',').map(Number);
const BASELINE_SIZES = [1, 50, 100];

function measure(layout: 'fleet' | 'fleet-canary' | 'stack' | 'azure', count: number): Sample {
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
const canary = FLEET_SIZES.filter((n) => n >= 100).map((count) => ({ count, sample: measure('fleet-canary', count) }));
const azure = FLEET_SIZES.map((count) => ({ count, sample: measure('azure', count) }));
console.log(JSON.stringify({ fleet, baseline, canary, azure }));
/** Per agent on Azure, from the largest fleet that synthesized: plans, storage accounts, role assignments. */
const largest = [...azure].reverse().find((a) => !a.sample.error && a.count > 1);
const total = (s: Sample, key: 'plans' | 'storageAccounts' | 'roleAssignments' | 'groups' | 'memberships' | 'resources' | 'bytes') => s.stacks.reduce((n, st) => n + (st[key] ?? 0), 0);
const sum = (key: 'plans' | 'storageAccounts' | 'roleAssignments') => total(largest!.sample, key);
const azureRows = azure.map(({ count, sample }) =>
  sample.error
    ? `| ${count} | fails at synth, ${sample.error} | ${(sample.synthMs / 1000).toFixed(1)} s | ${sample.peakRssMb.toFixed(0)} MB | | | | | | |`
    : `| ${count} | ${sample.stacks.length} stacks, the largest ${Math.max(...sample.stacks.map((st) => st.resources))} resources, ${(Math.max(...sample.stacks.map((st) => st.bytes)) / 1000).toFixed(0)} KB | ${(sample.synthMs / 1000).toFixed(1)} s | ${sample.peakRssMb.toFixed(0)} MB | ${(total(sample, 'resources') / count).toFixed(1)} | ${(total(sample, 'bytes') / count / 1000).toFixed(1)} KB | ${total(sample, 'storageAccounts')} | ${total(sample, 'roleAssignments')} | ${total(sample, 'groups')} | ${total(sample, 'memberships')} |`,
);
/** Agents one region and subscription holds at the measured rates, and the quota that binds. */
const fit = (plans: number, accounts: number, assignments: number) => {
  const bounds = [
    ['plans', 100 / plans],
    ['storage accounts', 250 / accounts],
    ['role assignments', 4000 / assignments],
  ] as const;
  const [quota, agents] = bounds.reduce((a, b) => (b[1] < a[1] ? b : a));
  return `${Math.floor(agents)} (${quota})`;
};
const lines = [
  ...fleet.map((f, i) => row('AgentFleet', f.count, f.sample, fleet[i - 1])),
  ...canary.map((f, i) => row('AgentFleet, canary rollout', f.count, f.sample, canary[i - 1])),
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
agent, whatever their number. The grants agents of a shard are given alike (the model, its key, the events they
publish) are kept once per shard, in managed policies each role attaches (\`SharedStatements\`): 1.1 KB less per
agent than a copy in each role (a shard of 50 from 524 KB to 468 KB).
The operations layer (\`AgentOperations\`: audit table and workgroup, eight named queries, the dashboard, a
composite alarm per cohort) sits in the edge stack and adds 17 resources for the example's one cohort, whatever the fleet's size (the edge
holds 41 resources at 1 agent and at 1000); what grows with agents there is text: the API's routes and the
audit table's list of agents.

*Canary rollout*: the same fleet with \`rollout: { strategy: 'canary', minutes: 10 }\`: every agent behind a
version and its alias with a CodeDeploy deployment group and three alarms (six resources more an agent), so
shards hold 30 agents; the shards deploy a runtime change one first, then four at a time.

On Azure, \`AzureAgentFleet\` (platform stack, shard stacks of 50 with their own state: one Consumption plan, one state and
one audit account, and Entra ID groups for the roles agents share, per shard), with its secure-default and quota
checks; each size once in a process of its own:

| agents | synth | time | peak memory | resources per agent | template per agent | storage accounts | role assignments | Entra ID groups | group memberships |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|
${azureRows.join('\n')}

Per agent on Azure, beside the quotas of one region and subscription${largest ? ` (measured at ${largest.count} agents)` : ''}:

| | plans | storage accounts | role assignments | agents that fit (the quota that binds) |
|---|---:|---:|---:|---:|
| quota | 100 per region | 250 per region | 4,000 per subscription | |
| one stack per agent (the example stacks; \`bench:azure-synth\`) | 1 | 2 | 10 | ${fit(1, 2, 10)} |
| AzureAgentFleet before shared storage and groups (a plan per shard) | 0.02 | 2.03 | 9 | ${fit(0.02, 2.03, 9)} |
${largest ? `| AzureAgentFleet | ${(sum('plans') / largest.count).toFixed(2)} | ${(sum('storageAccounts') / largest.count).toFixed(2)} | ${(sum('roleAssignments') / largest.count).toFixed(2)} | ${fit(sum('plans') / largest.count, sum('storageAccounts') / largest.count, sum('roleAssignments') / largest.count)} |` : ''}

An agent's role assignments in a fleet: one on its state account (a custom role under a condition naming its
containers and host paths), one on its audit container, one or two on its queue (receive; send for an agent that
takes jobs). What agents share on the platform (model key secrets, skills, topic, runtime package, telemetry)
is one assignment per resource and role and shard, held by an Entra ID group the agents join; group memberships
are not role assignments and count against no quota this check knows. Durable agents keep two accounts of their own.
Terraform has no per-stack limit like CloudFormation's: a shard of 50 agents is about 755 resources and 1.07 MB of
JSON, one state and one plan; \`agentsPerShard\` makes shards smaller where plans should be faster.`,
);
