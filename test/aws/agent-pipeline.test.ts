import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CodePipelineSource } from 'aws-cdk-lib/pipelines';
import { buildPipelineApp } from '../../bin/pipeline';
import { AgentPipeline, PINNED_CDK_CLI } from '../../constructs/aws';
import { parseEnvironments } from '../../contract/delivery/environments';
import { SingleAgentStack } from '../../stacks/single-agent/single-agent-stack';
import { REPO, reportingApp, ROUTER, synthWithRulePacks } from '../helpers';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
type Action = { Name: string; RunOrder: number; Region?: string; ActionTypeId: { Category: string; Provider: string }; Configuration: Record<string, any> };

const context = () => ({ ...JSON.parse(readFileSync(join(REPO, 'cdk.json'), 'utf8')).context, ...JSON.parse(readFileSync(join(REPO, 'cdk.context.json'), 'utf8')) });

describe('the example pipeline (bin/pipeline.ts), from environments.json', () => {
  const app = reportingApp();
  for (const [k, v] of Object.entries(context())) app.node.setContext(k, v);
  buildPipelineApp(app);
  const pipelineStack = app.node.findChild('AgentPipeline') as AgentPipeline;
  const template = Template.fromStack(pipelineStack);
  const resources = template.toJSON().Resources as Resources;
  const [pipeline] = Object.values(resources).filter((r) => r.Type === 'AWS::CodePipeline::Pipeline');
  const stages = pipeline!.Properties.Stages as { Name: string; Actions: Action[] }[];
  const stage = (name: string) => stages.find((s) => s.Name === name)!;
  const project = (ref: string) => resources[ref]!.Properties;

  it('is a V2 pipeline of change sets, whose steps run the pinned CDK CLI', () => {
    assert.equal(pipeline!.Properties.PipelineType, 'V2');
    const deploys = stages.flatMap((s) => s.Actions).filter((a) => a.ActionTypeId.Provider === 'CloudFormation');
    assert.ok(deploys.length > 0);
    assert.deepEqual([...new Set(deploys.map((a) => a.Configuration.ActionMode))].sort(), ['CHANGE_SET_EXECUTE', 'CHANGE_SET_REPLACE']);
    const selfMutation = stage('UpdatePipeline').Actions[0]!;
    assert.match(JSON.stringify(project(selfMutation.Configuration.ProjectName.Ref).Source.BuildSpec), new RegExp(`npm install -g aws-cdk@${PINNED_CDK_CLI.replace(/\./g, '\\.')}`));
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    assert.equal(PINNED_CDK_CLI, pkg.devDependencies['aws-cdk'], 'the pipeline runs the CLI the tests synthesize with');
  });

  it("synthesizes with the README's install, the tests, the rule-pack synth and the pipeline app, on Node 22", () => {
    const synth = stage('Build').Actions[0]!;
    const spec = JSON.parse(project(synth.Configuration.ProjectName.Ref).Source.BuildSpec);
    assert.deepEqual(spec.phases.build.commands, ['npm ci', 'npm test', 'npm run synth', 'npm run synth:pipeline']);
    assert.deepEqual(spec.phases.install['runtime-versions'], { nodejs: '22' });
    assert.equal(spec.artifacts['base-directory'], 'pipeline.out');
  });

  it('promotes source, build, self-update, assets, dev, then prod: an approval first, then both regions side by side', () => {
    assert.deepEqual(stages.map((s) => s.Name), ['Source', 'Build', 'UpdatePipeline', 'Assets', 'dev', 'prod']);
    assert.equal(stage('dev').Actions.filter((a) => a.ActionTypeId.Category === 'Approval').length, 0, 'dev needs no person');
    const prod = stage('prod').Actions;
    const approve = prod.find((a) => a.Name === 'Approve')!;
    assert.equal(approve.ActionTypeId.Category, 'Approval');
    const deploys = prod.filter((a) => a.ActionTypeId.Provider === 'CloudFormation');
    assert.ok(deploys.every((a) => a.RunOrder > approve.RunOrder), 'nothing deploys before the approval');
    // The same stacks in two regions, each step of the one in the same run order as the other's.
    assert.deepEqual([...new Set(deploys.map((a) => a.Region))].sort(), ['eu-central-1', 'eu-west-3']);
    const orders = (region: string) => deploys.filter((a) => a.Region === region).map((a) => `${a.Configuration.StackName}@${a.RunOrder}`.replace(/-prod(-eu-west-3)?@/, '@'));
    assert.deepEqual(orders('eu-central-1'), orders('eu-west-3'));
    assert.deepEqual(deploys.filter((a) => a.Region === 'eu-west-3').map((a) => a.Configuration.StackName).sort(), ['HybridAgents-prod-eu-west-3', 'HybridAgents-prod-eu-west-3', 'SupportAgent-prod-eu-west-3', 'SupportAgent-prod-eu-west-3', 'SupportTeam-prod-eu-west-3', 'SupportTeam-prod-eu-west-3']);
  });

  it('checks each production stage for broadened permissions before it deploys, after the approval', () => {
    const prod = stage('prod').Actions;
    const approve = prod.find((a) => a.Name === 'Approve')!;
    const checks = prod.filter((a) => /PermissionsBroadening/.test(a.Name));
    // A check (CodeBuild, cdk diff --security-only) and its approval when something widens, per region.
    assert.equal(checks.filter((a) => a.ActionTypeId.Provider === 'CodeBuild').length, 2);
    const firstDeploy = Math.min(...prod.filter((a) => a.ActionTypeId.Provider === 'CloudFormation').map((a) => a.RunOrder));
    for (const check of checks) assert.ok(check.RunOrder > approve.RunOrder && check.RunOrder < firstDeploy, check.Name);
    assert.ok(stage('dev').Actions.every((a) => !/PermissionsBroadening/.test(a.Name)));
  });

  it("runs the smoke check after each stage's stacks deploy, with the API URL and the check's role from their outputs", () => {
    for (const [name, targets] of [['dev', ['dev']], ['prod', ['prod', 'prod-eu-west-3']]] as const) {
      const actions = stage(name).Actions;
      for (const target of targets) {
        const smoke = actions.find((a) => a.Name.endsWith(`Smoke-${target}`))!;
        const lastDeploy = Math.max(...actions.filter((a) => a.ActionTypeId.Provider === 'CloudFormation' && a.Configuration.StackName.endsWith(`-${target}`)).map((a) => a.RunOrder));
        assert.ok(smoke.RunOrder > lastDeploy, `${target}: smoke after the deploy`);
        const variables = JSON.parse(smoke.Configuration.EnvironmentVariables) as { name: string; value: string }[];
        assert.deepEqual(variables.map((v) => v.name).sort(), ['SMOKE_API_URL', 'SMOKE_ROLE_ARN']);
        assert.ok(variables.every((v) => v.value.startsWith('#{') && v.value.includes('SupportAgent')), 'from the SupportAgent stack outputs');
        const spec = JSON.parse(project(smoke.Configuration.ProjectName.Ref).Source.BuildSpec);
        const commands = spec.phases.build.commands as string[];
        assert.equal(commands[0], 'npm ci');
        assert.match(commands[1]!, /aws sts assume-role --role-arn "\$SMOKE_ROLE_ARN"/);
        assert.equal(commands[2], `npm run smoke -- --agent 'support' --input 'I was charged twice for order 1234.' --expect '"category":"billing"'`);
      }
    }
  });

  it('adds to each stage a role the pipeline account assumes, that may call only the agent\'s invocation route', () => {
    const supportAgent = pipelineStack.stages.get('prod-eu-west-3')!.node.findChild('SupportAgent') as Stack;
    const stack = Template.fromStack(supportAgent).toJSON().Resources as Resources;
    const [role] = Object.values(stack).filter((r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === 'smoke-prod-eu-west-3-support');
    assert.deepEqual(role!.Properties.AssumeRolePolicyDocument.Statement[0].Principal, { AWS: 'arn:aws:iam::111111111111:root' });
    const [policy] = Object.values(stack).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties).includes('execute-api:Invoke'));
    const statement = policy!.Properties.PolicyDocument.Statement;
    assert.equal(statement.length, 1);
    assert.match(JSON.stringify(statement[0].Resource), /\/",\{"Ref":"ApiDeploymentStage[^"]+"\},"\/POST\/agents\/support\/invocations"/);
    // And the step may assume that role only.
    const [smoke] = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties).includes('sts:AssumeRole') && JSON.stringify(r.Properties).includes('role/smoke-prod-eu-west-3-support'));
    assert.ok(smoke);
  });

  it('passes the AwsSolutions and Serverless rule packs, the pipeline and every stage, every acknowledgment with its reason', () => {
    const report = synthWithRulePacks(app);
    assert.deepEqual(report.open, []);
    for (const a of report.acknowledged) assert.ok(a.reason.length > 40, `${a.rule}: ${a.reason}`);
    assert.ok(report.acknowledged.some((a) => a.reason.startsWith("CDK Pipelines' self-update")));
  });
});

describe('the pipeline settings in cdk.json', () => {
  const build = (pipeline: unknown) => {
    const app = new App({ context: { ...context(), pipeline } });
    buildPipelineApp(app);
    const stack = app.node.findChild('AgentPipeline') as AgentPipeline;
    const [p] = Object.values(Template.fromStack(stack).toJSON().Resources as Resources).filter((r) => r.Type === 'AWS::CodePipeline::Pipeline');
    return (p!.Properties.Stages as { Name: string; Actions: Action[] }[])[0]!.Actions[0]!;
  };
  const base = { account: '111111111111', region: 'eu-west-1' };

  it('takes a CodeCommit repository or an S3 object as the source instead of a connection', () => {
    const codeCommit = build({ ...base, source: { codeCommit: { repository: 'agents', branch: 'release' } } });
    assert.equal(codeCommit.ActionTypeId.Provider, 'CodeCommit');
    assert.equal(codeCommit.Configuration.BranchName, 'release');
    const s3 = build({ ...base, source: { s3: { bucket: 'acme-sources', key: 'agents.zip' } } });
    assert.equal(s3.ActionTypeId.Provider, 'S3');
    assert.deepEqual([s3.Configuration.S3Bucket, s3.Configuration.S3ObjectKey], ['acme-sources', 'agents.zip']);
  });

  it('fails naming the field when the settings are wrong or missing', () => {
    assert.throws(() => build(undefined), /cdk\.json context: pipeline: /);
    assert.throws(() => build({ ...base, account: '42', source: { s3: { bucket: 'b', key: 'k' } } }), /pipeline\.account: must be a 12-digit AWS account id/);
    assert.throws(() => build({ ...base, source: { git: 'acme/agents' } }), /pipeline\.source: must be one of/);
    assert.throws(() => build({ ...base, source: { connection: { repository: 'acme/agents', connectionArn: 'arn:aws:s3:::x' } } }), /pipeline\.source: must be one of|connectionArn: must be a CodeStar connection ARN/);
  });
});

describe('AgentPipeline', () => {
  const envs = (value: unknown) => parseEnvironments(value, 'test');
  const props = (environments: unknown) => ({
    env: { account: '111111111111', region: 'eu-west-1' },
    source: CodePipelineSource.connection('acme/agents', 'main', { connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/x' }),
    environments: envs(environments),
    stacks: (stage: import('aws-cdk-lib').Stage, target: { id: string }) => ({ Agent: new SingleAgentStack(stage, 'Agent', { models: ROUTER, stackName: `Agent-${target.id}` }) }),
  });

  it('deploys other accounts with its own key, and checks the smoke stack names one it built', () => {
    const app = new App();
    const pipeline = new AgentPipeline(app, 'P', props({ qa: { aws: { account: '222222222222', regions: ['eu-west-1'] } } }));
    const template = Template.fromStack(pipeline);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    assert.equal(pipeline.stages.get('qa')!.account, '222222222222');
    assert.throws(
      () => new AgentPipeline(new App(), 'P', props({ qa: { aws: { regions: ['eu-west-1'] }, smoke: { stack: 'SupportAgent', agent: 'a', input: 'hi' } } })),
      /AgentPipeline P: environments\.qa\.smoke\.stack: "SupportAgent" is not one of the stacks built for qa \(Agent\)/,
    );
  });

  it('leaves a wildcard its acknowledgments do not describe as a finding', () => {
    const app = reportingApp();
    const pipeline = new AgentPipeline(app, 'P', props({ qa: { aws: { regions: ['eu-west-1'] } } }));
    pipeline.pipeline.synthProject.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    const report = synthWithRulePacks(app);
    assert.deepEqual(report.open.map((f) => f.rule), ['AwsSolutions-IAM5[Action::dynamodb:*]']);
  });

  it('refuses a pipeline with nothing to deploy, or without its own account and region', () => {
    assert.throws(() => new AgentPipeline(new App(), 'P', props({ az: { azure: { location: 'westeurope' } } })), /environments: none has aws settings, so the pipeline would deploy nothing/);
    assert.throws(() => new AgentPipeline(new App(), 'P', { ...props({ qa: { aws: { regions: ['eu-west-1'] } } }), env: undefined }), /env: give the pipeline stack its account and region/);
  });
});
