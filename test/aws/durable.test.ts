import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AgentApi, AgentFunction, AgentStateTable, ModelRouter } from '../../constructs/aws';
import { agentInput, reportingApp, ROUTER, synthWithRulePacks, testStack } from '../helpers';

/** A durable agent with every queued trigger and an approval tool, behind an API, as a team would write it. */
function durableApp() {
  const app = reportingApp();
  const stack = testStack(app);
  const state = new AgentStateTable(stack, 'State');
  const agent = new AgentFunction(stack, 'Agent', {
    agent: agentInput({
      durable: true,
      limits: { timeoutSeconds: 7 * 86_400 },
      triggers: [{ type: 'api' }, { type: 'job' }, { type: 'schedule', expression: 'rate(1 day)', input: 'Daily refunds.' }, { type: 'event', pattern: { source: ['shop.orders'] } }],
      tools: [{ name: 'issue_refund', description: 'Refund an order.', kind: 'http', url: 'https://pay.example.com/refunds', sideEffect: 'write', input: { type: 'object' }, approval: { approvers: ['role:finance-lead'] } }],
    }),
    router: new ModelRouter(stack, 'Models', ROUTER),
    api: new AgentApi(stack, 'Api', { state }),
    state,
  });
  return { app, stack, agent };
}

const agentFunction = (template: Template) => Object.entries(template.findResources('AWS::Lambda::Function', { Properties: { DurableConfig: Match.anyValue() } }))[0]!;

describe('a durable agent on Lambda', () => {
  const { app, stack, agent } = durableApp();
  const template = Template.fromStack(stack);
  const [fnId] = agentFunction(template);

  it('gets durableConfig from its run limit, invocations of at most 15 minutes, a published version and an alias', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { DurableConfig: { ExecutionTimeout: 604_800, RetentionPeriodInDays: 30 }, Timeout: 900 });
    template.hasResourceProperties('AWS::Lambda::Version', { FunctionName: { Ref: fnId } });
    template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live', FunctionName: { Ref: fnId }, FunctionVersion: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AgentFunctionCurrentVersion'), 'Version'] } });
    assert.ok(agent.alias && agent.starter);
  });

  it('reaches the agent through its alias from every trigger: API routes, the starter of its queue (rules and schedules feed the queue), and nothing else', () => {
    // Every invoke grant (the API's integration role, the starter's role) names the alias, never the function.
    type Doc = { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
    const policies = [
      ...Object.values(template.findResources('AWS::IAM::Policy')).map((p) => (p as { Properties: Doc }).Properties),
      ...Object.values(template.findResources('AWS::IAM::Role')).flatMap((r) => (r as { Properties: { Policies?: Doc[] } }).Properties.Policies ?? []),
    ];
    const invokes = policies.flatMap((p) => p.PolicyDocument.Statement).filter((s) => [s.Action].flat().includes('lambda:InvokeFunction')).flatMap((s) => [s.Resource].flat());
    // The API's role: the alias (runs, jobs) and the starter (approvals, cancel); the starter's role: the alias.
    const starterArn = JSON.stringify({ 'Fn::GetAtt': [Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Description: 'Starts the queued runs of durable agent helper' } }))[0], 'Arn'] });
    assert.equal(invokes.filter((r) => JSON.stringify(r) === starterArn).length, 1, 'only the API may invoke the starter');
    const toAgent = invokes.filter((r) => JSON.stringify(r) !== starterArn);
    assert.equal(toAgent.length, 2, 'the API and the starter');
    // The alias itself, or the function's ARN qualified with it: the same ARN.
    for (const r of toAgent) assert.match(JSON.stringify(r), /^{"Ref":"AgentLive[0-9A-F]+"}$|,":live"\]\]}$/, JSON.stringify(r));
    const json = JSON.stringify(template.toJSON());
    // The run and job routes name the function with the alias as its qualifier, in their maps and
    // as the dry-run target of unknown names; the approvals and cancel routes name the starter.
    assert.equal(json.split(`{"Ref":"${fnId}"},":live`).length - 1, 4, 'the routes map the agent to its function name with the :live qualifier');
    const templates = JSON.stringify(Object.values(template.findResources('AWS::ApiGateway::Method')).map((m) => (m as { Properties: { Integration?: { RequestTemplates?: unknown } } }).Properties.Integration?.RequestTemplates));
    assert.equal(templates.split(`{"Ref":"${fnId}"}`).length - 1, 4, 'no route reaches the function unqualified');
    // The queue feeds the starter, never the durable function (whose SQS-started executions would stop at 15 minutes).
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as { Properties: { FunctionName: { Ref: string } } }[];
    assert.equal(mappings.length, 1);
    assert.match(mappings[0]!.Properties.FunctionName.Ref, /^AgentStarter/);
    template.hasResourceProperties('AWS::Lambda::Function', { Description: 'Starts the queued runs of durable agent helper', Environment: { Variables: Match.objectLike({ AGENT_DURABLE_TARGET: { Ref: Match.stringLikeRegexp('^AgentLive') } }) } });
    // The schedule and the event rule target the queue.
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as { Properties: { Targets: { Arn: unknown }[] } }[];
    assert.equal(rules.length, 2);
    for (const rule of rules) assert.match((rule.Properties.Targets[0]!.Arn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!, /^AgentQueue/);
  });

  it("gives the agent's own role exactly the checkpoint and state permissions, and its starter the callback and stop ones, on its own executions", () => {
    type PolicyResource = { Properties: { PolicyDocument: { Statement: unknown[] }; Roles: { Ref: string }[] } };
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^AgentDurableExecution') } })) as PolicyResource[];
    const executions = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [fnId, 'Arn'] }, ':*']] };
    assert.deepEqual(policy!.Properties.PolicyDocument.Statement, [{ Action: ['lambda:CheckpointDurableExecution', 'lambda:GetDurableExecutionState'], Effect: 'Allow', Resource: executions }]);
    const [answers] = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^AgentStarterDurableExecution') } })) as PolicyResource[];
    assert.deepEqual(answers!.Properties.PolicyDocument.Statement, [{ Action: ['lambda:SendDurableExecutionCallbackSuccess', 'lambda:StopDurableExecution'], Effect: 'Allow', Resource: executions }]);
    assert.match(answers!.Properties.Roles[0]!.Ref, /^AgentStarterRole/);
    assert.equal(policy!.Properties.Roles.length, 1);
    assert.match((policy!.Properties.Roles[0] as { Ref: string }).Ref, /^AgentRole/);
    assert.ok(!JSON.stringify(template.toJSON()).includes('AWSLambdaBasicDurableExecutionRolePolicy'), 'no managed policy wider than the grant');
  });

  it('serves the approvals and cancel routes, authorized like every agent route, with the body checked at the edge', () => {
    const resources = template.findResources('AWS::ApiGateway::Resource');
    const path = (id: string): string => {
      const r = resources[id] as { Properties: { PathPart: string; ParentId: { Ref?: string } } } | undefined;
      return r ? `${path(r.Properties.ParentId.Ref ?? '')}/${r.Properties.PathPart}` : '';
    };
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } })) as { Properties: { ResourceId: { Ref: string }; AuthorizationType: string; RequestModels?: Record<string, { Ref: string }> } }[];
    const byPath = Object.fromEntries(methods.map((m) => [path(m.Properties.ResourceId.Ref), m.Properties]));
    assert.equal(byPath['/agents/{name}/jobs/{jobId}/approvals']?.AuthorizationType, 'AWS_IAM');
    assert.equal(byPath['/agents/{name}/jobs/{jobId}/cancel']?.AuthorizationType, 'AWS_IAM');
    const model = Object.entries(template.findResources('AWS::ApiGateway::Model')).find(([id]) => id === byPath['/agents/{name}/jobs/{jobId}/approvals']!.RequestModels!['application/json']!.Ref)!;
    assert.deepEqual((model[1] as { Properties: { Schema: { properties: { decision: unknown } } } }).Properties.Schema.properties.decision, { type: 'string', enum: ['approve', 'reject'] });
  });

  it('passes the AwsSolutions and Serverless rule packs, every acknowledgment with its reason', () => {
    const report = synthWithRulePacks(app);
    assert.deepEqual(report.open, []);
    assert.ok(report.acknowledged.some((a) => a.reason.includes('durable-execution')));
  });
});
