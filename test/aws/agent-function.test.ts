import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as cdk from 'aws-cdk-lib';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AgentApi, AgentBus, AgentFunction, AgentQueue, AgentStateTable, ModelRouter, SkillBucket } from '../../constructs/aws';
import { isScheduleMessage } from '../../contract/api/messages';
import { RUNTIME_ENV } from '../../contract/config/settings';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import { agentInput, agentRoleStatements, reportingApp, ROUTER, SKILLS, synthWithRulePacks, testStack } from '../helpers';

function build(overrides: Parameters<typeof agentInput>[0] = {}, props: Partial<ConstructorParameters<typeof AgentFunction>[2]> = {}) {
  const stack = testStack(new App());
  const agent = new AgentFunction(stack, 'Agent', {
    agent: agentInput(overrides),
    router: new ModelRouter(stack, 'Models', ROUTER),
    api: new AgentApi(stack, 'Api'),
    ...props,
  });
  return { stack, agent, template: Template.fromStack(stack) };
}

describe('AgentFunction', () => {
  it('runs the shared runtime on Node 24, arm64, traced, with its timeout from the definition', () => {
    const { template } = build({ limits: { timeoutSeconds: 300 } });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 300,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('AgentLogs') } },
    });
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 90 }, DeletionPolicy: 'Retain' });
  });

  it('carries the whole definition and its route in the environment, compressed', () => {
    const { template } = build({ cohort: 'research' });
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } })) as {
      Properties: { Environment: { Variables: Record<string, string> } };
    }[];
    const config = decodeAgentConfig(fn!.Properties.Environment.Variables[AGENT_CONFIG_ENV]!);
    assert.equal(config.definition.name, 'helper');
    assert.equal(config.definition.instructions, 'You help.');
    assert.deepEqual(config.route, [{ provider: 'bedrock', model: 'eu.anthropic.claude-opus-4-1-20250805-v1:0', billedBy: 'aws' }]);
    // The cohort's application inference profile (its ARN known at deploy only) beside the configuration, and the cohort tag on the function.
    const [profileId] = Object.keys(template.findResources('AWS::Bedrock::ApplicationInferenceProfile', { Properties: { Tags: [{ Key: 'cohort', Value: 'research' }] } }));
    assert.deepEqual(fn!.Properties.Environment.Variables[RUNTIME_ENV.modelProfiles], { 'Fn::Join': ['', ['{"eu.anthropic.claude-opus-4-1-20250805-v1:0":"', { 'Fn::GetAtt': [profileId, 'InferenceProfileArn'] }, '"}']] });
    assert.deepEqual((fn as unknown as { Properties: { Tags: unknown[] } }).Properties.Tags, [{ Key: 'cohort', Value: 'research' }]);
  });

  it('keeps its grants in one inline policy on its own role: no separate policy resource', () => {
    const { template } = build();
    const policies = template.findResources('AWS::IAM::Policy');
    assert.ok(!Object.keys(policies).some((id) => id.startsWith('AgentRole')), 'no AWS::IAM::Policy for the agent role');
    const actions = agentRoleStatements(template).flatMap((s) => [s.Action].flat());
    assert.ok(actions.includes('logs:PutLogEvents') && actions.includes('bedrock:InvokeModel'));
  });

  it('writes only to its own log group', () => {
    const { stack, agent, template } = build();
    const write = agentRoleStatements(template).find((s) => [s.Action].flat().includes('logs:PutLogEvents'));
    assert.deepEqual(write?.Resource, { 'Fn::GetAtt': [stack.getLogicalId(agent.logGroup.node.defaultChild as never), 'Arn'] });
  });

  it('may read only its own skills and the index', () => {
    const stack = testStack(new App());
    const skills = new SkillBucket(stack, 'Skills', { path: SKILLS });
    new AgentFunction(stack, 'Agent', { agent: agentInput({ skills: ['ticket-triage'] }), router: new ModelRouter(stack, 'Models', ROUTER), api: new AgentApi(stack, 'Api'), skills });
    const template = Template.fromStack(stack);
    const read = agentRoleStatements(template).find((s) => s.Action === 's3:GetObject');
    const text = JSON.stringify(read?.Resource);
    assert.match(text, /\/index\.json/);
    assert.match(text, /\/ticket-triage\/\*/);
    assert.doesNotMatch(text, /refund-requests/);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { SKILLS_BUCKET: { Ref: Match.stringLikeRegexp('SkillsBucket') } } } });
  });

  it('may invoke exactly the functions its function tools name', () => {
    const tool = (name: string, fn: string) => ({ name, description: 'd', kind: 'function' as const, function: fn, input: { type: 'object' } });
    const { template } = build({ tools: [tool('file', 'report-filer'), tool('pay', 'arn:aws:lambda:eu-west-1:999999999999:function:payments'), { name: 'web', description: 'd', kind: 'mcp', url: 'https://mcp.example.com', input: { type: 'object' } }] });
    const invoke = agentRoleStatements(template).find((s) => s.Action === 'lambda:InvokeFunction');
    assert.deepEqual(invoke?.Resource, [
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':lambda:eu-west-1:123456789012:function:report-filer']] },
      'arn:aws:lambda:eu-west-1:999999999999:function:payments',
    ]);
  });

  it('publishes only to its bus', () => {
    const stack = testStack(new App());
    const bus = new AgentBus(stack, 'Bus');
    new AgentFunction(stack, 'Agent', { agent: agentInput(), router: new ModelRouter(stack, 'Models', ROUTER), api: new AgentApi(stack, 'Api'), bus });
    const put = agentRoleStatements(Template.fromStack(stack)).find((s) => s.Action === 'events:PutEvents');
    assert.deepEqual(put?.Resource, { 'Fn::GetAtt': [stack.getLogicalId(bus.eventBus.node.defaultChild as never), 'Arn'] });
  });

  it('takes overrides of memory, architecture, log retention and concurrency', () => {
    const { template } = build({}, { memorySize: 2048, architecture: lambda.Architecture.X86_64, logRetention: logs.RetentionDays.ONE_WEEK, reservedConcurrentExecutions: 5 });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 2048, Architectures: ['x86_64'], ReservedConcurrentExecutions: 5 });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('alarms on its first failed run in five minutes, on the metric the runtime emits, notifying the action given', async () => {
    const { agent, template } = build({ cohort: 'research' });
    const emitted = await emittedMetrics('helper', 'research');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: emitted.namespace,
      MetricName: 'RunFailures',
      Dimensions: emitted.dimensions.map((name) => ({ Name: name, Value: emitted.values[name] })).sort((a, b) => a.Name.localeCompare(b.Name)),
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: Match.absent(),
    });
    assert.equal(agent.runFailuresAlarm.metric.toString().includes('RunFailures'), true);
    const stack = testStack(new App());
    const topic = new sns.Topic(stack, 'OnCall');
    new AgentFunction(stack, 'Agent', { agent: agentInput(), router: new ModelRouter(stack, 'Models', ROUTER), api: new AgentApi(stack, 'Api'), alarmAction: new cloudwatchActions.SnsAction(topic) });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RunFailures', AlarmActions: [{ Ref: Match.stringLikeRegexp('^OnCall') }] });
  });

  it('wires a schedule trigger to its queue with a dead-letter queue and retries', () => {
    const stack = testStack(new App());
    new AgentFunction(stack, 'Agent', {
      agent: agentInput({ model: 'fast', triggers: [{ type: 'schedule', expression: 'rate(1 hour)', input: 'Report.' }] }),
      router: new ModelRouter(stack, 'Models', ROUTER),
      queue: new AgentQueue(stack, 'Queue'),
      state: new AgentStateTable(stack, 'State'),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 }, DeadLetterConfig: { Arn: Match.anyValue() } })],
    });
    template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    // What the queue receives for one firing, as EventBridge's input transformer fills the
    // template (a string value is inserted quoted): every delivery of it names the same event.
    const [rule] = Object.values(template.findResources('AWS::Events::Rule')) as { Properties: { Targets: { InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string } }[] } }[];
    const { InputPathsMap: paths, InputTemplate: inputTemplate } = rule!.Properties.Targets[0]!.InputTransformer;
    const firing: Record<string, string> = { id: '6f2c1a4e-0000-4000-8000-000000000001', time: '2026-12-01T06:00:00Z' };
    const filled = inputTemplate.replace(/<(\w+)>/g, (_, name: string) => JSON.stringify(firing[paths[name]!.slice(2)]));
    const message = JSON.parse(filled) as unknown;
    assert.ok(isScheduleMessage(message));
    assert.deepEqual(message, { source: 'schedule', input: 'Report.', eventId: firing.id, time: firing.time });
  });

  it('warns at synth that an API agent without a state table refuses idempotency keys, and is silent with one', () => {
    const warnings = (stack: cdk.Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('no-idempotency-records'));
    const { stack } = build();
    assert.equal(warnings(stack).length, 1);
    assert.match(JSON.stringify(warnings(stack)[0]!.entry.data), /agent \\"helper\\" has no AgentStateTable, so it refuses invocations that carry an idempotencyKey \(400\)/);
    const withState = testStack(new App());
    new AgentFunction(withState, 'Agent', { agent: agentInput({}), router: new ModelRouter(withState, 'Models', ROUTER), api: new AgentApi(withState, 'Api'), state: new AgentStateTable(withState, 'State') });
    assert.equal(warnings(withState).length, 0);
  });

  it('grants invoke to whoever may run it directly', () => {
    const stack = testStack(new App());
    const agent = new AgentFunction(stack, 'Agent', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }), queue: new AgentQueue(stack, 'Queue'), state: new AgentStateTable(stack, 'State') });
    agent.grantInvoke(new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() }));
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'lambda:InvokeFunction', Resource: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('AgentFunction'), 'Arn'] }]) })]) },
    });
  });

  it('takes a VPC, keys for its logs and environment, layers, more variables and other function properties', () => {
    const app = reportingApp();
    const stack = testStack(app);
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const flowLogs = vpc.addFlowLog('FlowLogs');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const layer = lambda.LayerVersion.fromLayerVersionArn(stack, 'Otel', 'arn:aws:lambda:eu-west-1:123456789012:layer:otel-exporter:3');
    const securityGroup = new ec2.SecurityGroup(stack, 'AgentSg', { vpc, allowAllOutbound: true });
    const agent = new AgentFunction(stack, 'Agent', {
      agent: agentInput(),
      router: new ModelRouter(stack, 'Models', ROUTER),
      api: new AgentApi(stack, 'Api'),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      logEncryptionKey: key,
      environmentEncryption: key,
      layers: [layer],
      environment: { OTEL_SERVICE_NAME: 'support' },
      functionOverrides: { ephemeralStorageSize: cdk.Size.gibibytes(1), description: 'Support agent, overridden' },
    });
    void flowLogs;
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('AgentSg'), 'GroupId'] }], SubnetIds: Match.anyValue() },
      KmsKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
      Layers: ['arn:aws:lambda:eu-west-1:123456789012:layer:otel-exporter:3'],
      EphemeralStorage: { Size: 1024 },
      Description: 'Support agent, overridden',
      Environment: { Variables: Match.objectLike({ OTEL_SERVICE_NAME: 'support', [AGENT_CONFIG_ENV]: Match.anyValue() }) },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    // CloudWatch Logs may use the key for this account's log groups; the agent may decrypt its environment.
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logs.eu-west-1.amazonaws.com' }, Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } } })]) },
    });
    assert.ok(agentRoleStatements(template).some((st) => [st.Action].flat().includes('kms:Decrypt')));
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: 'Runs agent helper',
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']] }],
    });
    assert.equal(agent.function.isBoundToVpc, true);
    const outcome = synthWithRulePacks(app);
    assert.deepEqual(outcome.open, [], outcome.open.map((f) => `${f.rule} at ${f.paths.join(', ')}`).join('\n'));
  });

  it('refuses more variables under the names the runtime reads', () => {
    assert.throws(() => build({}, { environment: { AGENT_CONFIG: 'x', STATE_TABLE: 'y' } }), /agent "helper": environment: AGENT_CONFIG, STATE_TABLE are set by AgentFunction for the runtime/);
  });

  it('reads back the metrics the runtime emits, under the same namespace, names and dimensions', async () => {
    const { agent } = build({ cohort: 'research' });
    const emitted = await emittedMetrics('helper', 'research');
    for (const [metric, name] of [
      [agent.metricRuns(), 'Runs'],
      [agent.metricRunFailures(), 'RunFailures'],
      [agent.metricValidationFailures(), 'ValidationFailures'],
      [agent.metricToolDenials(), 'ToolDenials'],
      [agent.metricModelFallbacks(), 'ModelFallbacks'],
      [agent.metricCost(), 'CostUsd'],
      [agent.metricInputTokens(), 'InputTokens'],
      [agent.metricOutputTokens(), 'OutputTokens'],
      [agent.metricRunLatency(), 'RunLatency'],
    ] as const) {
      assert.equal(metric.metricName, name);
      assert.equal(metric.namespace, emitted.namespace);
      assert.deepEqual(Object.keys(metric.dimensions ?? {}).sort(), [...emitted.dimensions].sort(), `${name} has the dimensions the runtime writes`);
      for (const key of emitted.dimensions) assert.equal(metric.dimensions![key], emitted.values[key]);
    }
  });
});

/** What the runtime's CloudWatch metrics sink writes for an agent: an EMF document, captured from stdout. */
async function emittedMetrics(agent: string, cohort: string) {
  const { PowertoolsMetrics } = await import('../../functions/aws/runtime.js');
  const lines: string[] = [];
  const write = process.stdout.write;
  const log = console.log;
  console.log = (line: string) => void lines.push(line);
  process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    const sink = new PowertoolsMetrics(agent, cohort);
    sink.add('Runs', 'Count', 1);
    sink.flush();
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
  const emf = lines.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l._aws);
  assert.ok(emf, 'the sink wrote an embedded metric format document');
  const directive = emf._aws.CloudWatchMetrics[0];
  return { namespace: directive.Namespace as string, dimensions: directive.Dimensions[0] as string[], values: emf as Record<string, string> };
}
