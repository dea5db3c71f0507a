import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AzureAgentFleet } from '../../constructs/azure/agent-fleet';
import { App as TerraformApp } from '../../constructs/azure/engine';
import { AZURE_ROUTER } from '../../test/__fixtures__/azure-synth';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { AgentFleet } from '../../constructs/aws';
import { FLEET_LOCK_CONTEXT } from '../../contract/fleet/lock';
import { fleetAgents } from '../../stacks/fleet/fleet-agents';
import { leanApp } from '../synth/lean-app';
import { ROUTER } from '../../test/helpers';

/**
 * One measurement, in a process of its own: `app.ts <fleet|stack|azure> <agents> <outdir>`
 * synthesizes the fleet example with the rule packs on, laid out by AgentFleet or (the baseline) in
 * one stack, or on Azure by AzureAgentFleet (with its secure-default and quota checks), and writes
 * bench.json beside the assembly: synth time, peak memory, and each stack's resources and template
 * bytes. A synth that fails writes its error instead.
 */
const [layout, count, outdir] = process.argv.slice(2) as [string, string, string];
const agents = fleetAgents(Number(count));
const started = performance.now();
const app = new App({ outdir, context: { [FLEET_LOCK_CONTEXT]: 'update' } });
let error: string | undefined;
const lockFile = join(mkdtempSync(join(tmpdir(), 'fleet-lock-')), 'fleet.lock.json');
if (layout === 'azure') {
  const azure = new TerraformApp({ outdir, context: { [FLEET_LOCK_CONTEXT]: 'update' } });
  try {
    new AzureAgentFleet(azure, 'fleet', { agents, models: { ...AZURE_ROUTER, cohorts: {} }, skillsPath: join(__dirname, '..', '..', 'skills'), lockFile, location: 'westeurope' });
    azure.synth();
  } catch (e) {
    const quotas = (e as Error).message.split('\n').filter((l) => l.includes('Azure quota')).map((l) => /Azure quota "([\w-]+)": the app declares (\d+)/.exec(l)!).map(([, id, n]) => `${id} (${n})`);
    error = quotas.length ? `over Azure quotas: ${quotas.join(', ')}` : (e as Error).message.split('\n')[0]!.slice(0, 300);
  }
  const manifest = error ? undefined : (JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { synthesizedStackPath: string }> });
  const stacks = Object.values(manifest?.stacks ?? {}).map((s) => {
    const text = readFileSync(join(outdir, s.synthesizedStackPath), 'utf8');
    const json = JSON.parse(text) as { resource?: Record<string, Record<string, unknown>> };
    const count = (type: string) => Object.keys(json.resource?.[type] ?? {}).length;
    return { resources: Object.values(json.resource ?? {}).reduce((n, r) => n + Object.keys(r).length, 0), bytes: Buffer.byteLength(text), plans: count('azurerm_service_plan'), storageAccounts: count('azurerm_storage_account'), roleAssignments: count('azurerm_role_assignment'), groups: count('azuread_group'), memberships: Object.values((json.resource?.azuread_group ?? {}) as Record<string, { members?: unknown[] }>).reduce((n, g) => n + (g.members?.length ?? 0), 0) };
  });
  writeFileSync(join(outdir, 'bench.json'), JSON.stringify({ synthMs: performance.now() - started, peakRssMb: process.resourceUsage().maxRSS / 1024, stacks, ...(error && { error }) }));
  process.exit(0);
}
try {
  if (layout === 'fleet' || layout === 'fleet-canary') {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    new AgentFleet(app, 'Fleet', {
      agents,
      models: ROUTER,
      skillsPath: join(__dirname, '..', '..', 'skills'),
      lockFile,
      env: { account: '123456789012', region: 'eu-west-1' },
      // Every agent behind an alias with a CodeDeploy canary and its three alarms.
      ...(layout === 'fleet-canary' && { rollout: { strategy: 'canary', minutes: 10 } }),
    });
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
