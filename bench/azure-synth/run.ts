import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CDKTF_CLI_ENV } from '../../bin/cdktf-cli';
import { AGENT_COUNTS, machine, medianSample, ROOT, SYNTH_RUNS, writeSection, type SynthSample } from '../report';

/**
 * Azure synth cost of an agent fleet: the Azure stage-1 stack at 1, 10 and 25 agents, each run a
 * fresh `cdktf synth` with the project's pinned CLI, as a user runs it. The median of RUNS.
 */
type Sample = SynthSample;
/** Resources by Terraform type, per agent count, from the last run of each. */
const types = new Map<number, Record<string, number>>();

function measure(agents: number): Sample {
  return medianSample('bench-azure-', (outdir) => {
    const app = `${join(ROOT, 'node_modules/.bin/tsx')} ${join(__dirname, 'measure.ts')} ${agents}`;
    const started = performance.now();
    execFileSync(join(ROOT, 'node_modules/.bin/cdktf'), ['synth', '--app', app, '--output', outdir], {
      cwd: ROOT,
      stdio: 'ignore',
      env: { ...process.env, ...CDKTF_CLI_ENV },
    });
    const cliMs = performance.now() - started;
    types.set(agents, JSON.parse(readFileSync(join(outdir, 'resource-types.json'), 'utf8')) as Record<string, number>);
    return { cliMs, ...(JSON.parse(readFileSync(join(outdir, 'bench.json'), 'utf8')) as Omit<Sample, 'cliMs'>) };
  });
}

const byCount = AGENT_COUNTS.map((n) => ({ n, ...measure(n) }));
const [one, , many] = byCount as [(typeof byCount)[0], unknown, (typeof byCount)[0]];
const perAgent = (many.resources - one.resources) / (many.n - one.n);
const msPerAgent = (many.synthMs - one.synthMs) / (many.n - one.n);
// What an extra agent adds, by Terraform type, most first.
const addedTypes = Object.entries(types.get(many.n)!)
  .map(([type, count]) => [type, (count - (types.get(one.n)![type] ?? 0)) / (many.n - one.n)] as const)
  .filter(([, perAgent]) => perAgent > 0)
  .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  .map(([type, perAgent]) => `${type.replace(/^azurerm_/, '')} ${perAgent}`)
  .join(', ');
writeSection(
  'azure-synth',
  `## Azure synth: cost of an extra agent (\`npm run bench:azure-synth\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}; median of ${SYNTH_RUNS} runs per cell.
*cdktf synth* is the wall time of \`cdktf synth\` with the project's pinned CLI (0.21.0), as a user
runs it; *app synth* is the part inside the app: building the construct tree and \`app.synth()\`,
including bundling the Azure runtime package once. *Peak RSS* is the app process. *Per agent* is
the marginal count of Terraform resources. Agents are shaped like the example (API and job
triggers, two skills, an HTTP tool, the \`smart\` alias).

| agents | cdktf synth s | app synth s | peak RSS MiB | resources | per agent |
|---:|---:|---:|---:|---:|---:|
${byCount.map((r) => `| ${r.n} | ${(r.cliMs / 1000).toFixed(2)} | ${(r.synthMs / 1000).toFixed(2)} | ${r.peakRssMb.toFixed(0)} | ${r.resources} | ${((r.resources - one.resources) / Math.max(r.n - 1, 1)).toFixed(1)} |`).join('\n')}

- \`cdktf synth\` at 25 agents takes ${(many.cliMs / one.cliMs).toFixed(2)}x its time at 1 agent; inside the app, ${(many.synthMs / one.synthMs).toFixed(2)}x. An extra agent adds ${msPerAgent.toFixed(0)} ms to the app's synth.
- ${perAgent.toFixed(1)} Terraform resources per extra agent (by type, \`azurerm_\` left out: ${addedTypes}): a Function App on its own plan with its identity, app registration, trigger sync and failed-run alert, a keyless state account and an audit account under an immutability policy, a Service Bus queue with its dead-letter alert, one role assignment per resource it reaches, and waits for those roles to take effect. Terraform has no per-stack resource limit; plan and apply time grow with the count.
- Peak memory grows by ${((many.peakRssMb - one.peakRssMb) / (many.n - one.n)).toFixed(1)} MiB per agent: provider classes load by deep path, so an app loads only the dozen resource types it uses.
`,
);
console.log(`cdktf synth 25/1: ${(many.cliMs / one.cliMs).toFixed(2)}x; ${perAgent.toFixed(1)} resources per agent; peak RSS ${one.peakRssMb.toFixed(0)} → ${many.peakRssMb.toFixed(0)} MiB`);
