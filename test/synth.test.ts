import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../bin/app';
import { CDKTF_CLI_ENV } from '../bin/cdktf-cli';
import { summarizeAssembly, summarizeTerraform } from '../bin/summary';
import { AGENT_CONFIG_ENV } from '../contract/config/runtime-config';
import { REPO } from './helpers';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
const resources = (outdir: string, stack: string): Resources => JSON.parse(readFileSync(join(outdir, `${stack}.template.json`), 'utf8')).Resources;

describe('the example app, synthesized by the pinned CDK CLI', () => {
  let outdir: string;
  before(() => {
    outdir = mkdtempSync(join(tmpdir(), 'cdk-out-'));
    execFileSync(join(REPO, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--output', outdir], { cwd: REPO, stdio: 'pipe', env: { ...process.env, CDK_DEFAULT_ACCOUNT: '', AWS_PROFILE: '' } });
  });

  it('holds the stacks once per region of each environment in environments.json, one runtime bundle, and no open security finding', () => {
    const summary = summarizeAssembly(outdir);
    const targets = ['dev', 'prod', 'prod-eu-west-3'];
    assert.deepEqual(summary.stacks.map((s) => s.name).sort(), targets.flatMap((t) => [`HybridAgents-${t}`, `SupportAgent-${t}`, `SupportTeam-${t}`]).sort());
    assert.deepEqual(
      summary.stacks.map((s) => [s.name, s.agents.map((a) => a.name).sort()]).sort(),
      targets.flatMap((t) => [[`HybridAgents-${t}`, ['intake', 'research']], [`SupportAgent-${t}`, ['support']], [`SupportTeam-${t}`, ['billing', 'technical', 'triage']]]).sort(),
    );
    // Production's regions roll agents out by canary, the development environment all at once.
    assert.equal(Object.values(resources(outdir, 'SupportAgent-prod-eu-west-3')).filter((r) => r.Type === 'AWS::CodeDeploy::DeploymentGroup').length, 1);
    assert.equal(Object.values(resources(outdir, 'SupportTeam-prod')).filter((r) => r.Type === 'AWS::CodeDeploy::DeploymentGroup').length, 3);
    assert.equal(Object.values(resources(outdir, 'SupportAgent-dev')).filter((r) => r.Type === 'AWS::CodeDeploy::DeploymentGroup').length, 0);
    assert.equal(summary.runtimeAssets.length, 1);
    assert.equal(summary.openFindings, 0);
    assert.equal(summary.unexplained, 0);
    assert.ok(summary.acknowledgedFindings > 0);
  });

  it('points every agent function (and durable agent starter) in every stack at the same runtime asset', () => {
    const keys = ['SupportAgent-dev', 'SupportAgent-prod', 'SupportTeam-dev', 'SupportTeam-prod'].flatMap((stack) =>
      Object.values(resources(outdir, stack))
        .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.[AGENT_CONFIG_ENV])
        .map((r) => r.Properties.Code.S3Key),
    );
    // Four agents in each environment's stacks, and billing's starter.
    assert.equal(keys.length, 10, 'dev and the home region of prod');
    assert.equal(new Set(keys).size, 1);
    assert.equal(keys[0], `${summarizeAssembly(outdir).runtimeAssets[0]!.path.replace('asset.', '')}.zip`);
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
  it('builds only the stage asked for, in each of its regions', () => {
    const app = buildApp(new App({ context: { ...JSON.parse(readFileSync(join(REPO, 'cdk.json'), 'utf8')).context, stage: 'prod' } }));
    const stacks = app.node.children.filter((c) => c.node.id.startsWith('Support')) as import('aws-cdk-lib').Stack[];
    assert.deepEqual(stacks.map((s) => [s.node.id, s.stackName, s.region]), [
      ['SupportAgent-prod', 'SupportAgent-prod', 'eu-central-1'],
      ['SupportTeam-prod', 'SupportTeam-prod', 'eu-central-1'],
      ['SupportAgent-prod-eu-west-3', 'SupportAgent-prod-eu-west-3', 'eu-west-3'],
      ['SupportTeam-prod-eu-west-3', 'SupportTeam-prod-eu-west-3', 'eu-west-3'],
    ]);
  });

  it('takes the environment list from the environments context instead of environments.json when given', () => {
    const context = JSON.parse(readFileSync(join(REPO, 'cdk.json'), 'utf8')).context;
    const app = buildApp(new App({ context: { ...context, environments: { qa: { aws: { account: '123456789012', regions: ['us-east-1'] } } } } }));
    assert.deepEqual(app.node.children.filter((c) => c.node.id.includes('-')).map((c) => c.node.id), ['SupportAgent-qa', 'SupportTeam-qa', 'HybridAgents-qa']);
    // A check run by a deploying role in another account: the stack's smoke-check role trusts that account.
    const delivered = buildApp(new App({ context: { ...context, environments: { qa: { aws: { account: '123456789012', deliveryAccount: '210987654321', regions: ['us-east-1'] }, smoke: { stack: 'SupportAgent', agent: 'support', input: 'hi' } } } } }));
    const roles = JSON.stringify(Template.fromStack(delivered.node.findChild('SupportAgent-qa') as import('aws-cdk-lib').Stack).findResources('AWS::IAM::Role', { Properties: { RoleName: 'smoke-qa-support' } }));
    assert.match(roles, /:iam::210987654321:root/);
    assert.throws(() => buildApp(new App({ context: { ...context, environments: { qa: { azure: { location: 'westeurope' } } }, stage: 'qa' } })), /stage "qa" is not an environment with aws settings in environments\.json \(known: none\)/);
  });
});

describe('the Azure example app, synthesized by the pinned CDK for Terraform CLI', () => {
  let outdir: string;
  before(() => {
    outdir = mkdtempSync(join(tmpdir(), 'cdktf-out-'));
    execFileSync(join(REPO, 'node_modules/.bin/cdktf'), ['synth', '--output', outdir], { cwd: REPO, stdio: 'pipe', env: { ...process.env, ...CDKTF_CLI_ENV } });
  });

  it('holds one stack per environment of environments.json, one runtime package, and no secure-default finding', () => {
    const summary = summarizeTerraform(outdir);
    assert.deepEqual(
      summary.stacks.map((s) => [s.name, s.agents.map((a) => a.name).sort()]).sort(),
      [['hybrid-agents-dev', ['intake', 'research']], ['hybrid-agents-prod', ['intake', 'research']], ['multi-agent-dev', ['billing', 'technical', 'triage']], ['multi-agent-prod', ['billing', 'technical', 'triage']], ['support-agent-dev', ['support']], ['support-agent-prod', ['support']]],
    );
    assert.equal(summary.runtimePackages.length, 1);
    assert.ok(summary.runtimePackages[0]!.bytes > 100_000);
    assert.deepEqual(summary.findings, []);
  });

  it('reports a resource that breaks a secure default, read again from the output', () => {
    const stackPath = join(outdir, 'stacks', 'support-agent-dev', 'cdk.tf.json');
    const stack = JSON.parse(readFileSync(stackPath, 'utf8'));
    const account = Object.values(stack.resource.azurerm_storage_account)[0] as Record<string, any>;
    account.shared_access_key_enabled = true;
    const app = Object.values(stack.resource.azurerm_linux_function_app)[0] as Record<string, any>;
    app.app_settings.HTTP_AUTH_LEVEL = 'anonymous';
    stack.provider.azurerm[0].storage_use_azuread = false;
    writeFileSync(stackPath, JSON.stringify(stack));
    const findings = summarizeTerraform(outdir).findings;
    assert.ok(findings.includes(`support-agent-dev: AzureSecure-StorageSharedKeys: ${account['//'].metadata.path} accepts shared keys`), findings.join('\n'));
    assert.ok(findings.includes(`support-agent-dev: AzureSecure-FunctionAnonymous: ${app['//'].metadata.path} serves HTTP anonymously`));
    assert.ok(findings.some((f) => f.startsWith('support-agent-dev: AzureSecure-StorageKeysFromProvider: ')));
  });
});
