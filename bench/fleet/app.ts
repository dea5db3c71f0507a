import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { AgentFleet } from '../../constructs/aws';
import { FLEET_LOCK_CONTEXT } from '../../contract/fleet/lock';
import { fleetAgents } from '../../stacks/fleet/fleet-agents';
import { leanApp } from '../synth/lean-app';
import { ROUTER } from '../../test/helpers';

/**
 * One measurement, in a process of its own: `app.ts <fleet|stack> <agents> <outdir>` synthesizes the
 * fleet example with the rule packs on, laid out by AgentFleet or (the baseline) in one stack, and
 * writes bench.json beside the assembly: synth time, peak memory, and each stack's resources and
 * template bytes. A synth that fails writes its error instead.
 */
const [layout, count, outdir] = process.argv.slice(2) as [string, string, string];
const agents = fleetAgents(Number(count));
const started = performance.now();
const app = new App({ outdir, context: { [FLEET_LOCK_CONTEXT]: 'update' } });
let error: string | undefined;
try {
  if (layout === 'fleet') {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    new AgentFleet(app, 'Fleet', { agents, models: ROUTER, skillsPath: join(__dirname, '..', '..', 'skills'), lockFile: join(mkdtempSync(join(tmpdir(), 'fleet-lock-')), 'fleet.lock.json'), env: { account: '123456789012', region: 'eu-west-1' } });
  } else {
    leanApp(app, agents, true);
  }
  app.synth();
} catch (e) {
  error = (e as Error).message.split('\n')[0]!.slice(0, 300);
}
const synthMs = performance.now() - started;
const manifest = error ? undefined : (JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; properties?: { templateFile?: string } }> });
const stacks = Object.values(manifest?.artifacts ?? {})
  .filter((a) => a.type === 'aws:cloudformation:stack')
  .map((a) => {
    const text = readFileSync(join(outdir, a.properties!.templateFile!), 'utf8');
    return { resources: Object.keys((JSON.parse(text) as { Resources: object }).Resources).length, bytes: Buffer.byteLength(text) };
  });
writeFileSync(join(outdir, 'bench.json'), JSON.stringify({ synthMs, peakRssMb: process.resourceUsage().maxRSS / 1024, stacks, ...(error && { error }) }));
