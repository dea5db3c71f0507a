import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { TerraformAsset, TerraformStack, AssetType, Testing } from '../../constructs/azure/engine';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import { consumerProject, readmeExample } from '../__fixtures__/consumer';
import { REPO } from '../helpers';

/**
 * The package as a team installs it: packed, installed into a fresh app, compiled with strict
 * TypeScript (exactOptionalPropertyTypes among them), and synthesized with plain `node`. The apps
 * are the README's examples, so the README cannot rot.
 */

const STRICT = { strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, noImplicitOverride: true, outDir: 'dist', rootDir: 'src', types: ['node'] };

/** The example agents and skills, where the README's apps look for them. */
const agentFiles = (dir: string) => {
  cpSync(join(REPO, 'skills'), join(dir, 'skills'), { recursive: true });
  for (const file of ['support.agent.yaml', 'support.instructions.md']) cpSync(join(REPO, 'stacks/single-agent', file), join(dir, 'agents', file));
  for (const name of ['triage', 'billing', 'technical']) for (const file of [`${name}.agent.yaml`, `${name}.instructions.md`]) cpSync(join(REPO, 'stacks/multi-agent', file), join(dir, 'agents', file));
};

function run(dir: string, command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const tsc = (dir: string) => run(dir, process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', dir]);

/** A folder's files and their bytes, as one hash. */
function folderHash(dir: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
  for (const file of files) hash.update(file).update('\0').update(readFileSync(join(dir, file))).update('\0');
  return hash.digest('hex');
}

describe('the package in a team AWS CDK app', () => {
  let dir: string;
  before(() => {
    dir = consumerProject('aws-team-app', ['aws-cdk-lib', 'constructs', 'cdk-nag', 'typescript', '@types/node'], {
      'src/app.ts': readmeExample('Compose the constructs in your own stack (AWS)'),
      'src/team.ts': readmeExample('A team of agents (stage 2)'),
      // As `cdk init` writes it (CommonJS, classic module resolution), made stricter.
      // aws-cdk-lib's own declarations break under exactOptionalPropertyTypes, so an app with it must
      // skip library checks; the Azure app below checks this package's declarations.
      'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', lib: ['ES2022'], ...STRICT, skipLibCheck: true } }),
    });
    agentFiles(dir);
  });

  it('installs without CDK for Terraform, the Azure SDKs or a bundler', () => {
    const installed = readdirSync(join(dir, 'node_modules'));
    for (const absent of ['cdktf', '@cdktf', '@azure', 'esbuild', '@aws-sdk', '@anthropic-ai']) assert.ok(!installed.includes(absent), `${absent} is not installed`);
    assert.ok(existsSync(join(dir, 'node_modules/serverless-agents/dist/runtime/aws/index.mjs')), 'the runtime comes built');
  });

  it('compiles with tsc under strict options', () => {
    const compiled = tsc(dir);
    assert.equal(compiled.status, 0, compiled.output);
  });

  it('synthesizes with plain node, passes the rule packs, and deploys the shipped runtime byte for byte', () => {
    const outdir = join(dir, 'cdk.out');
    const synth = run(dir, process.execPath, ['dist/app.js'], { CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ '@aws-cdk/core:validationReportJson': true }) });
    assert.equal(synth.status, 0, synth.output);

    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; violations: unknown[]; suppressedViolations?: { reason?: string }[] }[] };
    assert.ok(['AwsSolutions', 'Serverless'].every((pack) => report.pluginReports.some((p) => p.pluginName.includes(pack))), report.pluginReports.map((p) => p.pluginName).join(', '));
    for (const plugin of report.pluginReports) assert.deepEqual(plugin.violations, [], `${plugin.pluginName} reports nothing open`);
    assert.ok(report.pluginReports.some((p) => (p.suppressedViolations ?? []).length > 0 && p.suppressedViolations!.every((v) => (v.reason ?? '').trim().length > 20)));

    const template = JSON.parse(readFileSync(join(outdir, 'Support.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, any>; Metadata?: Record<string, string> }> };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.[AGENT_CONFIG_ENV])!;
    assert.equal(fn.Properties.Runtime, 'nodejs24.x');
    assert.equal(decodeAgentConfig(fn.Properties.Environment.Variables[AGENT_CONFIG_ENV]).definition.name, 'support');
    const assets = JSON.parse(readFileSync(join(outdir, 'Support.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
    const staged = join(outdir, assets.files[String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')]!.source.path);
    assert.equal(folderHash(staged), folderHash(join(dir, 'node_modules/serverless-agents/dist/runtime/aws')));
    assert.equal(folderHash(staged), folderHash(join(REPO, 'dist/runtime/aws')), 'the same bytes the package was built with');
  });

  it('synthesizes the README\'s team of agents, each member granted only its own edges, with the rule packs clean', () => {
    const outdir = join(dir, 'cdk.out.team');
    const synth = run(dir, process.execPath, ['dist/team.js'], { CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ '@aws-cdk/core:validationReportJson': true }) });
    assert.equal(synth.status, 0, synth.output);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; violations: unknown[] }[] };
    for (const plugin of report.pluginReports) assert.deepEqual(plugin.violations, [], `${plugin.pluginName} reports nothing open`);
    const template = JSON.parse(readFileSync(join(outdir, 'SupportTeam.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
    // billing is durable: its starter carries its configuration too, and is not an agent of its own.
    const agents = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.[AGENT_CONFIG_ENV] && !r.Properties.Environment.Variables.AGENT_DURABLE_TARGET);
    assert.deepEqual(agents.map((fn) => decodeAgentConfig(fn.Properties.Environment.Variables[AGENT_CONFIG_ENV]).definition.name).sort(), ['billing', 'technical', 'triage']);
    const invokes = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .flatMap(([id, r]) => (r.Properties.Policies?.[0]?.PolicyDocument.Statement ?? []).filter((s: { Action: unknown }) => s.Action === 'lambda:InvokeFunction').map((s: { Resource: unknown }) => [id.replace(/Role.*/, ''), JSON.stringify(s.Resource)]));
    const [starter, ...callers] = [invokes.filter(([id]) => /Starter$/.test(id)), invokes.filter(([id]) => !/Starter$/.test(id))];
    assert.equal(callers.flat().length, 1, 'only triage calls another agent');
    assert.match(callers[0]![0]![0], /^Agenttriage/);
    assert.match(callers[0]![0]![1], /AgentbillingLive/, "through billing's alias");
    assert.equal(starter.length, 1, "billing's starter may invoke billing's alias, and nothing else");
    assert.match(starter[0]![1], /AgentbillingLive/);
  });

  it('says what to install when the Azure constructs are imported without CDK for Terraform', () => {
    const attempt = run(dir, process.execPath, ['-e', "require('serverless-agents/azure')"]);
    assert.notEqual(attempt.status, 0);
    assert.match(attempt.output, /serverless-agents\/azure builds on cdktf and @cdktf\/provider-azurerm, which are not installed: npm install cdktf@"\^0\.21\.0" @cdktf\/provider-azurerm@"\^14\.23\.1"/);
  });
});

describe('the package in a team CDK for Terraform app', () => {
  let dir: string;
  before(() => {
    dir = consumerProject('azure-team-app', ['cdktf', '@cdktf/provider-azurerm', 'constructs', 'typescript', '@types/node'], {
      'src/main.ts': readmeExample('The same agent on Azure'),
      'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], ...STRICT, skipLibCheck: false } }),
    });
    agentFiles(dir);
  });

  it('installs without aws-cdk-lib, the AWS SDKs or a bundler', () => {
    const installed = readdirSync(join(dir, 'node_modules'));
    for (const absent of ['aws-cdk-lib', 'cdk-nag', '@aws-sdk', '@azure', 'esbuild']) assert.ok(!installed.includes(absent), `${absent} is not installed`);
  });

  it('compiles with tsc under strict options and NodeNext resolution, declarations included', () => {
    const compiled = tsc(dir);
    assert.equal(compiled.status, 0, compiled.output);
  });

  it('synthesizes with plain node, under the secure-default checks, from the shipped runtime', () => {
    const synth = run(dir, process.execPath, ['dist/main.js']);
    assert.equal(synth.status, 0, synth.output);
    const stack = JSON.parse(readFileSync(join(dir, 'cdktf.out/stacks/support/cdk.tf.json'), 'utf8')) as { resource: Record<string, Record<string, Record<string, any>>> };
    const [app] = Object.values(stack.resource.azurerm_linux_function_app!);
    assert.equal(decodeAgentConfig(app!.app_settings[AGENT_CONFIG_ENV]).definition.name, 'support');
    assert.equal(app!.https_only, true);
    // The package blob is named by the bundle's content hash: the one of the folder the package ships.
    const zip = Object.values(stack.resource.azurerm_storage_blob!).find((b) => b.content_type === 'application/zip')!;
    const shipped = new TerraformAsset(new TerraformStack(Testing.app(), 'probe'), 'Bundle', { path: join(REPO, 'dist/runtime/azure'), type: AssetType.ARCHIVE });
    assert.equal(zip.name, `runtime-${shipped.assetHash.slice(0, 16)}.zip`);
  });

  it('refuses at synth what breaks an Azure secure default, in the team app too', () => {
    const broken = readFileSync(join(dir, 'dist/main.js'), 'utf8').replace('storageUseAzuread: true', 'storageUseAzuread: false');
    const attempt = run(dir, process.execPath, ['-e', broken]);
    assert.notEqual(attempt.status, 0);
    assert.match(attempt.output, /AzureSecure-StorageKeysFromProvider: support\/Skills\/Blob0 is uploaded with account keys/);
  });

  it('says what to install when the AWS constructs are imported without aws-cdk-lib, and the root loads neither toolkit', () => {
    const attempt = run(dir, process.execPath, ['-e', "require('serverless-agents/aws')"]);
    assert.match(attempt.output, /serverless-agents\/aws builds on aws-cdk-lib, which is not installed: npm install aws-cdk-lib@"\^2\.276\.0"/);
    const root = run(dir, process.execPath, ['-e', "const p = require('serverless-agents'); p.defineAgent({ name: 'a', description: 'd', model: 'smart', instructions: 'i' }); console.log(Object.keys(require.cache).filter((f) => /node_modules\\/(cdktf|@cdktf|aws-cdk-lib)\\//.test(f)).length)"]);
    assert.equal(root.output.trim(), '0', root.output);
  });
});

