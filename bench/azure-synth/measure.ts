import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cdktfContext } from '../../bin/azure';
import { readAzureAppConfig } from '../../bin/config';
import { App } from '../../constructs/azure/engine';
import { AzureSingleAgentStack } from '../../stacks/single-agent/azure-single-agent-stack';
import { fleet } from '../synth/fleet';

/**
 * The app `cdktf synth` runs for one measurement: `measure.ts <agents>`, the Azure stage-1 stack
 * with that many agents and the models of cdktf.json. Beside the output it writes bench.json: its
 * synth phase (building the construct tree and synthesizing), its own peak memory and the
 * stack's resources; resource-types.json counts them by type.
 */
const agents = fleet(Number(process.argv[2]));
const started = performance.now();
const app = new App({ context: cdktfContext() });
const { config } = readAzureAppConfig(app);
const stack = new AzureSingleAgentStack(app, 'bench', { location: 'westeurope', models: config.models, toolPolicies: config.toolPolicies, agents });
app.synth();
const synthMs = performance.now() - started;
const byType = Object.fromEntries(Object.entries((stack.toTerraform() as { resource: Record<string, object> }).resource).map(([type, byId]) => [type, Object.keys(byId).length]));
const resources = Object.values(byType).reduce((n, count) => n + count, 0);
writeFileSync(join(app.outdir, 'bench.json'), JSON.stringify({ synthMs, peakRssMb: process.resourceUsage().maxRSS / 1024, resources }));
writeFileSync(join(app.outdir, 'resource-types.json'), JSON.stringify(byType));
