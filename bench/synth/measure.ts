import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { fleet } from './fleet';
import { leanApp } from './lean-app';
import { naiveApp } from './naive-app';

/**
 * The app `cdk synth` runs for one measurement: `measure.ts <lean|bare|naive> <agents>`, where bare
 * is serverless-agents with no validation at all, to show what the constructs themselves cost. Beside the
 * assembly it writes bench.json: its synth phase (building the construct tree and synthesizing),
 * its own peak memory, the stack's resources and the Lambda bundles staged in cdk.out.
 */
const [variant, count] = process.argv.slice(2);
const agents = fleet(Number(count));
const started = performance.now();
const app = new App(variant === 'bare' ? { builtinCloudFormationValidation: false } : {});
const stack = variant === 'naive' ? naiveApp(app, agents) : leanApp(app, agents, variant === 'lean');
app.synth();
const synthMs = performance.now() - started;

const outdir = app.outdir;
const template = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.template.json`), 'utf8')) as { Resources: Record<string, unknown> };
const codeAssets = readdirSync(outdir).filter((f) => f.startsWith('asset.') && statSync(join(outdir, f)).isDirectory() && readdirSync(join(outdir, f)).includes('index.mjs')).length;
writeFileSync(
  join(outdir, 'bench.json'),
  JSON.stringify({ synthMs, peakRssMb: process.resourceUsage().maxRSS / 1024, resources: Object.keys(template.Resources).length, codeAssets }),
);
