import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../bin/app';
import { summarizeAssembly } from '../bin/summary';
import { AGENT_CONFIG_ENV } from '../constructs/definition';
import { REPO } from './helpers';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
const resources = (outdir: string, stack: string): Resources => JSON.parse(readFileSync(join(outdir, `${stack}.template.json`), 'utf8')).Resources;

describe('the example app, synthesized by the pinned CDK CLI', () => {
  let outdir: string;
  before(() => {
    outdir = mkdtempSync(join(tmpdir(), 'cdk-out-'));
    execFileSync(join(REPO, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--output', outdir], { cwd: REPO, stdio: 'pipe', env: { ...process.env, CDK_DEFAULT_ACCOUNT: '', AWS_PROFILE: '' } });
  });

  it('holds one stack per environment, one runtime bundle, and no open security finding', () => {
    const summary = summarizeAssembly(outdir);
    assert.deepEqual(summary.stacks.map((s) => s.name), ['SupportAgent-dev', 'SupportAgent-prod']);
    assert.deepEqual(summary.stacks.map((s) => s.agents.map((a) => a.name)), [['support'], ['support']]);
    assert.equal(summary.runtimeAssets.length, 1);
    assert.equal(summary.openFindings, 0);
    assert.equal(summary.unexplained, 0);
    assert.ok(summary.acknowledgedFindings > 0);
  });

  it('points every agent function in every stack at the same runtime asset', () => {
    const keys = ['SupportAgent-dev', 'SupportAgent-prod'].flatMap((stack) =>
      Object.values(resources(outdir, stack))
        .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.[AGENT_CONFIG_ENV])
        .map((r) => r.Properties.Code.S3Key),
    );
    assert.equal(keys.length, 2);
    assert.equal(new Set(keys).size, 1);
    assert.equal(keys[0], `${summarizeAssembly(outdir).runtimeAssets[0]!.path.replace('asset.', '')}.zip`);
  });

  it('ships a bundle that starts in plain Node with its agent config and answers each trigger', () => {
    const fn = Object.values(resources(outdir, 'SupportAgent-dev')).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.[AGENT_CONFIG_ENV])!;
    const bundle = join(outdir, summarizeAssembly(outdir).runtimeAssets[0]!.path, 'index.mjs');
    const script = `
      const { handler } = await import(${JSON.stringify(bundle)});
      const api = await handler({ kind: 'invocation', agent: 'support', requestId: 'r1', body: { input: 'hi' } });
      const sqs = await handler({ Records: [{ messageId: 'm1', eventSource: 'aws:sqs', body: '{}' }, { messageId: 'm2', eventSource: 'aws:sqs', body: '{}' }] });
      console.log(JSON.stringify({ api, sqs }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, [AGENT_CONFIG_ENV]: fn.Properties.Environment.Variables[AGENT_CONFIG_ENV] },
      encoding: 'utf8',
    });
    const { api, sqs } = JSON.parse(out);
    assert.equal(api.statusCode, 501);
    assert.match(JSON.parse(api.body).message, /agent "support" is deployed/);
    // Until the runtime ships, queued work goes back to the queue rather than being dropped.
    assert.deepEqual(sqs, { batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] });
  });

  it('refuses to start without its agent config', () => {
    const bundle = join(outdir, summarizeAssembly(outdir).runtimeAssets[0]!.path, 'index.mjs');
    assert.throws(
      () => execFileSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(bundle)})`], { env: { PATH: process.env.PATH }, stdio: 'pipe' }),
      (e: { stderr: Buffer }) => /AGENT_CONFIG is not set/.test(e.stderr.toString()),
    );
  });
});

describe('the example app config', () => {
  it('builds only the stage asked for, in its region', () => {
    const app = buildApp(new App({ context: { ...JSON.parse(readFileSync(join(REPO, 'cdk.json'), 'utf8')).context, stage: 'prod' } }));
    const stacks = app.node.children.filter((c) => c.node.id.startsWith('SupportAgent-'));
    assert.deepEqual(stacks.map((s) => s.node.id), ['SupportAgent-prod']);
    assert.equal((stacks[0] as import('aws-cdk-lib').Stack).region, 'eu-central-1');
  });
});
