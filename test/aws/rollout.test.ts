import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AgentApi, AgentBus, AgentFunction, AgentRollout, AgentStateTable, AgentTeam, ModelRouter } from '../../constructs/aws';
import { AgentDefinitionError } from '../../contract/definition/define';
import { agentInput, reportingApp, ROUTER, synthWithRulePacks, testStack } from '../helpers';

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[]; UpdatePolicy?: Record<string, any> }>;

/** A stack of `count` agents with every kind of trigger, a stack-wide canary, and one agent on a linear rollout of its own. */
/** An agent behind an API, the least a rollout needs. */
function plainAgent(stack: ReturnType<typeof testStack>, id: string, props: Partial<ConstructorParameters<typeof AgentFunction>[2]> = {}) {
  const state = (stack.node.tryFindChild('State') as AgentStateTable | undefined) ?? new AgentStateTable(stack, 'State');
  const api = (stack.node.tryFindChild('Api') as AgentApi | undefined) ?? new AgentApi(stack, 'Api', { state });
  const router = (stack.node.tryFindChild('Models') as ModelRouter | undefined) ?? new ModelRouter(stack, 'Models', ROUTER);
  return new AgentFunction(stack, id, { agent: agentInput({ name: id.toLowerCase() }), router, api, state, ...props });
}

function rolloutApp(count = 3) {
  const app = reportingApp();
  const stack = testStack(app);
  AgentRollout.setDefault(stack, { strategy: 'canary', minutes: 10 });
  const state = new AgentStateTable(stack, 'State');
  const api = new AgentApi(stack, 'Api', { state });
  const router = new ModelRouter(stack, 'Models', ROUTER);
  const bus = new AgentBus(stack, 'Bus');
  const names = Array.from({ length: count }, (_, i) => `agent-${i}`);
  const team = new AgentTeam(stack, 'Team', {
    bus,
    agents: names.map((name, i) =>
      agentInput({
        name,
        triggers: [{ type: 'api' }, { type: 'job' }, { type: 'schedule', expression: 'rate(1 day)', input: 'Daily.' }, { type: 'event', pattern: { source: ['shop.orders'] } }],
        ...(i === 0 && count > 1 && { tools: [{ name: 'ask_next', description: 'Ask the next agent.', kind: 'agent', agent: names[1]! }] }),
      }),
    ),
  });
  const agents = names.map(
    (name, i) =>
      new AgentFunction(stack, `Agent${i}`, {
        agent: team.graph.definition(name)!,
        router,
        api,
        state,
        team,
        ...(i === count - 1 && { rollout: { strategy: 'linear', minutes: 1, maxValidationFailureRate: 0.2 } }),
      }),
  );
  return { app, stack, agents };
}

const resources = (template: Template) => template.toJSON().Resources as Resources;
const ofType = (template: Template, type: string) => Object.entries(resources(template)).filter(([, r]) => r.Type === type);

describe('canary rollout of an agent on AWS', () => {
  const { app, stack, agents } = rolloutApp();
  const template = Template.fromStack(stack);
  const functionIds = agents.map((a) => stack.getLogicalId(a.function.node.defaultChild as never));
  const aliasIds = agents.map((a) => stack.getLogicalId(a.alias!.node.defaultChild as never));

  it('runs every agent behind a published version and its live alias', () => {
    for (const [i, fnId] of functionIds.entries()) {
      template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live', FunctionName: { Ref: fnId }, FunctionVersion: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^Agent${i}FunctionCurrentVersion`), 'Version'] } });
    }
  });

  it('points every trigger at the alias: API routes, the queue that schedules and events feed, and the calls of other agents', () => {
    const routes = JSON.stringify(ofType(template, 'AWS::ApiGateway::Method'));
    for (const fnId of functionIds) {
      // The run and job routes reach the agent by name, in their maps and as the dry-run target, always with the :live qualifier.
      const named = routes.split(`{"Ref":"${fnId}"}`).length - 1;
      assert.ok(named >= 2, "the run and job routes");
      assert.equal(routes.split(`{"Ref":"${fnId}"},":live`).length - 1, named, `${fnId} is reached unqualified`);
    }
    const mappings = ofType(template, 'AWS::Lambda::EventSourceMapping');
    assert.equal(mappings.length, agents.length);
    // The function's name qualified with the alias, taken from the alias.
    for (const [i, [, m]] of mappings.entries()) assert.deepEqual(m.Properties.FunctionName, { 'Fn::Join': ['', [{ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: aliasIds[i] }] }] }, ':live']] });
    for (const [, rule] of ofType(template, 'AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression || r.Properties.EventPattern?.source?.[0] === 'shop.orders')) {
      assert.match(rule.Properties.Targets[0].Arn['Fn::GetAtt'][0], /^Agent\dQueue/);
    }
    // The first agent calls the second through the second's alias.
    const [caller] = ofType(template, 'AWS::IAM::Role').filter(([, r]) => r.Properties.Description === 'Runs agent agent-0');
    const invoke = caller![1].Properties.Policies[0].PolicyDocument.Statement.find((s: { Action: unknown }) => [s.Action].flat().includes('lambda:InvokeFunction'));
    assert.deepEqual(invoke.Resource, { Ref: aliasIds[1] });
  });

  it('shifts each alias with CodeDeploy by a predefined configuration, rolling back on three alarms', () => {
    const groups = ofType(template, 'AWS::CodeDeploy::DeploymentGroup');
    assert.equal(groups.length, agents.length);
    assert.equal(ofType(template, 'AWS::CodeDeploy::Application').length, 1, 'one application for the stack');
    assert.equal(ofType(template, 'AWS::CodeDeploy::DeploymentConfig').length, 0, 'no configuration of its own');
    const configs = groups.map(([, g]) => g.Properties.DeploymentConfigName);
    assert.deepEqual(configs, ['CodeDeployDefault.LambdaCanary10Percent10Minutes', 'CodeDeployDefault.LambdaCanary10Percent10Minutes', 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute']);
    for (const [i, [id, group]] of groups.entries()) {
      assert.deepEqual(group.Properties.AutoRollbackConfiguration, { Enabled: true, Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM'] });
      assert.equal(group.Properties.AlarmConfiguration.Enabled, true);
      const alarms = group.Properties.AlarmConfiguration.Alarms.map((a: { Name: { Ref: string } }) => a.Name.Ref);
      assert.deepEqual(alarms.map((a: string) => a.replace(/^Agent\dRollout/, '').replace(/[0-9A-F]{8}$/, '')), ['Errors', 'RunFailureRate', 'ValidationFailureRate']);
      // The alias waits for its deployment group, which CloudFormation's update policy names.
      const alias = resources(template)[aliasIds[i]!]!;
      assert.equal(alias.UpdatePolicy?.CodeDeployLambdaAliasUpdate?.DeploymentGroupName?.Ref, id);
    }
  });

  it("watches the alias's errors, and the share of the agent's runs that fail or fail validation, with the agent's thresholds", () => {
    const alarms = Object.fromEntries(ofType(template, 'AWS::CloudWatch::Alarm').map(([id, a]) => [id, a.Properties]));
    const of = (agent: number, name: string) => Object.entries(alarms).find(([id]) => id.startsWith(`Agent${agent}Rollout${name}`))![1];
    const errors = of(0, 'Errors');
    assert.equal(errors.MetricName, 'Errors');
    assert.deepEqual(errors.Dimensions.find((d: { Name: string }) => d.Name === 'Resource').Value, { 'Fn::Join': ['', [{ Ref: functionIds[0] }, ':live']] });
    const runs = of(0, 'RunFailureRate');
    assert.equal(runs.Threshold, 0.05);
    const expression = runs.Metrics.find((m: { Expression?: string }) => m.Expression);
    assert.equal(expression.Expression, 'IF(runs > 0, part / runs, 0)');
    assert.deepEqual(runs.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map((m: { MetricStat: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] } } }) => [m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions.find((d) => d.Name === 'agent')?.Value]), [
      ['RunFailures', 'agent-0'],
      ['Runs', 'agent-0'],
    ]);
    const validation = of(2, 'ValidationFailureRate');
    assert.equal(validation.Threshold, 0.2);
    assert.deepEqual(validation.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map((m: { MetricStat: { Metric: { MetricName: string } } }) => m.MetricStat.Metric.MetricName), ['ValidationFailures', 'Runs']);
    assert.equal(validation.TreatMissingData, 'notBreaching');
  });

  it("gives CodeDeploy one role for the stack that may move each agent's alias and read its alarms, and nothing else", () => {
    const [role] = ofType(template, 'AWS::IAM::Role').filter(([, r]) => r.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service === 'codedeploy.amazonaws.com');
    assert.equal(ofType(template, 'AWS::IAM::Role').filter(([, r]) => r.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service === 'codedeploy.amazonaws.com').length, 1);
    assert.equal(role![1].Properties.ManagedPolicyArns, undefined, 'no AWS managed policy');
    const [policy] = ofType(template, 'AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles[0].Ref === role![0]);
    const statements = policy![1].Properties.PolicyDocument.Statement as { Action: string[] | string; Resource: unknown }[];
    const aliasStatements = statements.filter((s) => [s.Action].flat().includes('lambda:UpdateAlias'));
    assert.equal(aliasStatements.length, agents.length);
    for (const [i, fnId] of functionIds.entries()) {
      assert.deepEqual(aliasStatements[i]!.Resource, [{ 'Fn::GetAtt': [fnId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [fnId, 'Arn'] }, ':*']] }]);
    }
    const alarmReads = statements.filter((s) => [s.Action].flat().includes('cloudwatch:DescribeAlarms'));
    assert.equal(alarmReads.flatMap((s) => [s.Resource].flat()).length, agents.length * 3);
    assert.ok(!JSON.stringify(statements).includes('"*"'));
  });

  it('passes the AwsSolutions and Serverless rule packs, every acknowledgment with its reason', () => {
    const report = synthWithRulePacks(app);
    assert.deepEqual(report.open, []);
    assert.ok(report.acknowledged.some((a) => a.reason.includes('CodeDeploy reads the provisioned concurrency')));
    assert.ok(report.acknowledged.every((a) => a.reason.length > 20));
  });
});

describe('a new shared runtime on AWS', () => {
  it('shifts at most 10 agents of a stack at a time: each alias waits for the one ten places before it', () => {
    const { stack, agents } = rolloutApp(23);
    const template = Template.fromStack(stack);
    const aliasIds = agents.map((a) => stack.getLogicalId(a.alias!.node.defaultChild as never));
    aliasIds.forEach((id, i) => {
      const waitsFor = (resources(template)[id]!.DependsOn ?? []).filter((d) => aliasIds.includes(d));
      assert.deepEqual(waitsFor, i < 10 ? [] : [aliasIds[i - 10]], `alias ${i}`);
    });
  });

  it('takes another number of lanes per stack', () => {
    const app = reportingApp();
    const stack = testStack(app);
    AgentRollout.setConcurrency(stack, 2);
    const agents = [0, 1, 2, 3].map((i) => plainAgent(stack, `A${i}`, { rollout: { strategy: 'canary', minutes: 5 } }));
    const template = Template.fromStack(stack);
    const ids = agents.map((a) => stack.getLogicalId(a.alias!.node.defaultChild as never));
    assert.deepEqual(ids.map((id) => (resources(template)[id]!.DependsOn ?? []).filter((d) => ids.includes(d))), [[], [], [ids[0]], [ids[1]]]);
    assert.throws(() => AgentRollout.setConcurrency(stack, 0), /whole number from 1/);
  });
});

describe('the rollout setting', () => {
  it('fails synth naming the agent and the field when a step is not a predefined one', () => {
    const stack = testStack();
    assert.throws(
      () => plainAgent(stack, 'Helper', { rollout: { strategy: 'canary', minutes: 7 } }),
      (e: unknown) => e instanceof AgentDefinitionError && /agent "helper"/.test(e.message) && /rollout\.minutes: must be one of 5, 10, 15, 30/.test(e.message),
    );
    assert.throws(() => plainAgent(stack, 'B', { rollout: { strategy: 'blue-green' } as never }), /rollout\.strategy: must be "all-at-once", "canary" or "linear"/);
    assert.throws(() => plainAgent(stack, 'C', { rollout: { strategy: 'linear', minutes: 1, maxRunFailureRate: 5 } }), /rollout\.maxRunFailureRate: must be at most 1/);
    assert.throws(() => AgentRollout.setDefault(stack, { strategy: 'canary', minutes: 1 }), /rollout\.minutes/);
  });

  it('all at once: the alias and version, and no deployment group', () => {
    const stack = testStack();
    const agent = plainAgent(stack, 'A', { rollout: { strategy: 'all-at-once' } });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Alias', 1);
    template.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
    assert.equal(agent.rollout, undefined);
  });

  it('without one: no alias, as before', () => {
    const stack = testStack();
    plainAgent(stack, 'A');
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Alias', 0);
  });
});

describe('a rollout behind an API another app owns', () => {
  it('routes the owning app\'s listed agent to its alias, and warns an agent behind an imported API to be listed so', () => {
    const owner = testStack();
    const api = new AgentApi(owner, 'Api', { state: new AgentStateTable(owner, 'State'), agentNamePrefix: 'shop-', agents: [{ name: 'support', qualifier: 'live' }, { name: 'plain' }] });
    const routes = JSON.stringify(Template.fromStack(owner).findResources('AWS::ApiGateway::Method'));
    assert.match(routes, /\\"support\\":\\"shop-support:live\\"/);
    assert.match(routes, /\\"plain\\":\\"shop-plain\\"/);
    void api;

    const app = reportingApp();
    const stack = testStack(app);
    const imported = AgentApi.fromAgentApiAttributes(stack, 'Remote', { restApiId: 'abc123', agentNamePrefix: 'shop-', state: new AgentStateTable(stack, 'State') });
    new AgentFunction(stack, 'Support', { agent: agentInput({ name: 'support' }), router: new ModelRouter(stack, 'Models', ROUTER), api: imported, rollout: { strategy: 'canary', minutes: 5 } });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('list it in the owning app\'s AgentApi `agents` with qualifier: "live"'));
    assert.equal(warnings.length, 1);
  });

  it('starts no traffic shift before the service role holds its grants', () => {
    const { stack, agents } = rolloutApp(1);
    const template = Template.fromStack(stack).toJSON().Resources as Resources;
    const group = stack.getLogicalId(agents[0]!.rollout!.deploymentGroup.node.defaultChild as never);
    const [policy] = Object.entries(template).find(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties).includes('lambda:UpdateAlias'))!;
    assert.ok(template[group]!.DependsOn?.includes(policy), 'the group waits for the role\'s policy');
  });
});
