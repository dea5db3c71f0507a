import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AgentBus, AgentContainer, AgentFunction, AgentStateTable, AuditBucket, ModelRouter, SkillBucket } from '../../constructs/aws';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import type { AgentDefinitionInput } from '../../contract/definition';
import { agentInput, reportingApp, ROUTER, SKILLS, synthWithRulePacks, testStack } from '../helpers';

const researcher = (overrides: Partial<AgentDefinitionInput> = {}) =>
  agentInput({
    name: 'researcher',
    description: 'Researches questions at length.',
    placement: 'container',
    triggers: [{ type: 'queue' }, { type: 'schedule', expression: 'rate(1 day)', input: 'Refresh the digest.' }],
    skills: ['troubleshooting'],
    tools: [{ name: 'lookup', kind: 'function', function: 'order-lookup', description: 'Look an order up.', input: { type: 'object' } }],
    limits: { timeoutSeconds: 3600 },
    ...overrides,
  });

/** The platform's shared parts an agent is given, in `stack`. */
const sharedParts = (stack: Stack) => ({
  router: new ModelRouter(stack, 'Models', ROUTER),
  skills: new SkillBucket(stack, 'Skills', { path: SKILLS }),
  state: new AgentStateTable(stack, 'State'),
  bus: new AgentBus(stack, 'Bus'),
  audit: new AuditBucket(stack, 'Audit'),
});

function build(props: Partial<ConstructorParameters<typeof AgentContainer>[2]> = {}, app = new App()) {
  const stack = testStack(app);
  const shared = sharedParts(stack);
  const agent = new AgentContainer(stack, 'Agent', { agent: researcher(), ...shared, ...props });
  return { stack, agent, shared, template: Template.fromStack(stack) };
}

/** The task role's statements, by the role's description. */
function roleStatements(template: Template, description: string): Record<string, unknown>[] {
  const roles = Object.values(template.findResources('AWS::IAM::Role', { Properties: { Description: description } })) as { Properties: { Policies: { PolicyDocument: { Statement: Record<string, unknown>[] } }[] } }[];
  assert.equal(roles.length, 1, description);
  return roles[0]!.Properties.Policies[0]!.PolicyDocument.Statement;
}

describe('AgentContainer', () => {
  it('runs the runtime bundle in a staged image on Fargate arm64, with its configuration, health check and graceful stop', () => {
    const { template, stack } = build();
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '1024',
      Memory: '2048',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'agent',
          ReadonlyRootFilesystem: true,
          StopTimeout: 120,
          HealthCheck: Match.objectLike({ Command: ['CMD', 'node', '-e', Match.stringLikeRegexp("fetch\\('http://127.0.0.1:8080/ping'\\)")] }),
          Environment: Match.arrayWith([Match.objectLike({ Name: 'AGENT_CONCURRENCY', Value: '4' }), Match.objectLike({ Name: 'AGENT_SHUTDOWN_GRACE_SECONDS', Value: '90' })]),
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
    const [task] = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as { Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] } }[];
    const config = task!.Properties.ContainerDefinitions[0]!.Environment.find((e) => e.Name === AGENT_CONFIG_ENV)!.Value as string;
    assert.equal(decodeAgentConfig(config).definition.placement, 'container');
    // The image is only staged: its context is the bundle and a generated Dockerfile.
    const assembly = App.of(stack)!.synth();
    const images = Object.values((JSON.parse(readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; platform?: string } }> }).dockerImages);
    assert.equal(images.length, 1);
    assert.equal(images[0]!.source.platform, 'linux/arm64');
    const context = join(assembly.directory, images[0]!.source.directory);
    const dockerfile = readFileSync(join(context, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^FROM public\.ecr\.aws\/docker\/library\/node:24\.\d+\.\d+-bookworm-slim$/m);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^HEALTHCHECK .*\/ping/m);
    assert.match(dockerfile, /^CMD \["node", "container.mjs"\]$/m);
    for (const file of ['index.mjs', 'container.mjs']) assert.ok(existsSync(join(context, file)), file);
    assert.ok(!existsSync(join(context, 'node_modules')) && !existsSync(join(context, 'package-lock.json')));
  });

  it('scales on the messages waiting or under way, from zero to maxTasks, and never counts a running job as done', () => {
    const { template } = build({ maxTasks: 8, messagesPerTask: 2 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0, MaxCapacity: 8, ScalableDimension: 'ecs:service:DesiredCount' });
    const policies = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')) as { Properties: { StepScalingPolicyConfiguration: { AdjustmentType: string; StepAdjustments: { ScalingAdjustment: number; MetricIntervalLowerBound?: number; MetricIntervalUpperBound?: number }[] } } }[];
    assert.ok(policies.length >= 1);
    for (const p of policies) assert.equal(p.Properties.StepScalingPolicyConfiguration.AdjustmentType, 'ExactCapacity');
    const adjustments = policies.flatMap((p) => p.Properties.StepScalingPolicyConfiguration.StepAdjustments.map((s) => s.ScalingAdjustment)).sort((a, b) => a - b);
    assert.deepEqual(adjustments, [0, 1, 2, 4, 8]);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { Metrics?: { Expression?: string; MetricStat?: { Metric: { MetricName: string } } }[] } }[];
    const depth = alarms.filter((a) => a.Properties.Metrics?.some((m) => m.Expression === 'waiting + running'));
    assert.equal(depth.length, 2, 'a scale-out and a scale-in alarm on the same depth');
    assert.deepEqual(depth[0]!.Properties.Metrics!.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : [])).sort(), ['ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesVisible']);
  });

  it('rolls a failed deploy back, runs on Spot when asked, keeps logs, and admits no inbound traffic into a VPC without NAT', () => {
    const { template } = build({ spot: true });
    template.hasResourceProperties('AWS::ECS::Service', {
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 }),
      CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'ENABLED' }) },
    });
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
    template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', { CapacityProviders: Match.arrayWith(['FARGATE_SPOT']) });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup')) as { Properties: { SecurityGroupIngress?: unknown[] } }[];
    assert.equal(groups.length, 1);
    assert.equal(groups[0]!.Properties.SecurityGroupIngress, undefined);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('runs on demand with Fargate\'s launch type, which needs no capacity provider on the cluster', () => {
    build().template.hasResourceProperties('AWS::ECS::Service', { LaunchType: 'FARGATE', CapacityProviderStrategy: Match.absent() });
  });

  it('runs in a VPC the team gives, in its private subnets, without public addresses', () => {
    const app = new App();
    const stack = testStack(app);
    const vpc = new ec2.Vpc(stack, 'TeamVpc', { natGateways: 1, maxAzs: 2 });
    const template = Template.fromStack(((): typeof stack => {
      new AgentContainer(stack, 'Agent', { agent: researcher({ skills: [], tools: [] }), router: new ModelRouter(stack, 'Models', ROUTER), state: new AgentStateTable(stack, 'State'), vpc });
      return stack;
    })());
    template.hasResourceProperties('AWS::ECS::Service', { NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) } });
    template.resourceCountIs('AWS::EC2::VPC', 1);
  });

  it('holds exactly the grants its function placement would, through the same path', () => {
    const app = new App();
    const stack = testStack(app);
    new AgentContainer(stack, 'InContainer', { agent: researcher(), ...sharedParts(stack) });
    // The same definition placed as a function, in a second stack with the same shared parts (its
    // router's profile named after that stack).
    const other = new Stack(app, 'Other', { env: { account: '123456789012', region: 'eu-west-1' } });
    new AgentFunction(other, 'InContainer', { agent: researcher({ placement: 'function', limits: { timeoutSeconds: 900 } }), ...sharedParts(other) });
    const normalize = (statements: Record<string, unknown>[]) =>
      statements
        .map((s) => JSON.stringify(s, (_k, v: unknown) => (typeof v === 'string' ? v.replace(/InContainer(Queue|Logs)[A-Za-z0-9]*/g, 'InContainer$1').replace(/^ModelsProfile[0-9a-f]+[A-Z0-9]+$/, 'ModelsProfile') : v)))
        // What only the host needs: its own queue (a function's event source mapping holds the same
        // receive grants; a container also hands runs back), its own log group, and Lambda's tracing.
        .filter((s) => !/"sqs:/.test(s) && !/"logs:/.test(s) && !/"xray:/.test(s))
        .sort();
    const container = normalize(roleStatements(Template.fromStack(stack), 'Runs agent researcher in containers'));
    const fn = normalize(roleStatements(Template.fromStack(other), 'Runs agent researcher'));
    assert.ok(container.length >= 7, container.join('\n'));
    assert.deepEqual(container, fn);
  });

  it('refuses a definition placed elsewhere, a task size Fargate does not offer, or no state table, naming the agent and field', () => {
    assert.throws(() => build({ agent: researcher({ placement: 'function', triggers: [{ type: 'queue' }], limits: { timeoutSeconds: 60 } }) }), /agent "researcher": placement: AgentContainer deploys agents with placement: container; this one's is "function"/);
    assert.throws(() => build({ cpu: 1024, memoryLimitMiB: 1000 }), /memoryLimitMiB: with 1024 vCPU units Fargate offers 2048-8192 MiB in steps of 1024; got 1000/);
    assert.throws(() => build({ cpu: 300 }), /cpu: Fargate offers 256, 512, 1024, 2048, 4096, 8192, 16384 vCPU units; got 300/);
    assert.throws(() => build({ messagesPerTask: 11 }), /messagesPerTask: must be a whole number from 1 to 10/);
    const stack = testStack(new App());
    assert.throws(() => new AgentContainer(stack, 'A', { agent: researcher({ skills: [], tools: [] }), router: new ModelRouter(stack, 'Models', ROUTER) }), /state: a container agent needs an AgentStateTable/);
  });

  it('passes the AwsSolutions and Serverless rule packs with every acknowledgment explained', () => {
    const app = reportingApp();
    build({}, app);
    const report = synthWithRulePacks(app);
    assert.deepEqual(report.open, []);
    for (const a of report.acknowledged) assert.ok(a.reason.length > 40, `${a.rule}: ${a.reason}`);
  });
});
