import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentCoreAgent, AgentStateTable, ModelRouter, runtimeName } from '../../constructs/aws';
import { agentInput, reportingApp, ROUTER, synthWithRulePacks } from '../helpers';

const env = { account: '123456789012', region: 'eu-west-1' };
const build = (app = new App()) => {
  const stack = new Stack(app, 'Hybrid-dev', { env });
  const agent = new AgentCoreAgent(stack, 'Agent', { agent: agentInput({ name: 'deep-research', placement: 'agentcore', limits: { timeoutSeconds: 14_400 } }), router: new ModelRouter(stack, 'Models', ROUTER), state: new AgentStateTable(stack, 'State') });
  return { stack, agent };
};

describe('AgentCoreAgent', () => {
  it('deploys the runtime bundle as a Node 22 code asset with IAM inbound auth, its own role, and names AgentCore accepts', () => {
    const { stack, agent } = build();
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    agent.grantInvoke(caller);
    const template = Template.fromStack(stack);
    const [runtime] = Object.values(template.findResources('AWS::BedrockAgentCore::Runtime')) as { Properties: Record<string, any> }[];
    assert.equal(runtime!.Properties.AgentRuntimeName, 'Hybriddev_deep_research');
    assert.match(runtime!.Properties.AgentRuntimeName, /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/);
    const code = runtime!.Properties.AgentRuntimeArtifact.CodeConfiguration;
    assert.deepEqual([code.Runtime, code.EntryPoint], ['NODE_22', ['container.mjs']]);
    assert.equal(runtime!.Properties.LifecycleConfiguration.MaxLifetime, 14_400);
    assert.ok(runtime!.Properties.EnvironmentVariables.AGENT_CONFIG);
    assert.equal(runtime!.Properties.AuthorizerConfiguration, undefined, 'IAM (SigV4) is AgentCore\'s inbound auth when no authorizer is set');
    template.resourceCountIs('AWS::Logs::ResourcePolicy', 0);
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/bedrock-agentcore/Hybriddev_deep_research', RetentionInDays: 90 });
    const statements = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    assert.match(statements, /bedrock-agentcore:InvokeAgentRuntime/);
  });

  it('maps long names under 48 characters, distinct per agent', () => {
    const stack = new Stack(new App(), 'AVeryLongStackNameForTheResearchPlatformOfTheCompany');
    const a = runtimeName(stack, 'deep-research-with-a-long-name');
    assert.ok(a.length <= 48 && /^[a-zA-Z][a-zA-Z0-9_]*$/.test(a), a);
  });

  it('refuses a definition placed elsewhere', () => {
    const stack = new Stack(new App(), 'S', { env });
    assert.throws(() => new AgentCoreAgent(stack, 'A', { agent: agentInput({ placement: 'function' }), router: new ModelRouter(stack, 'Models', ROUTER) }), /agent "helper": placement: AgentCoreAgent deploys agents with placement: agentcore; this one's is "function"/);
  });

  it('passes the AwsSolutions and Serverless rule packs with every acknowledgment explained', () => {
    const app = reportingApp();
    build(app);
    const report = synthWithRulePacks(app);
    assert.deepEqual(report.open, []);
    for (const a of report.acknowledged) assert.ok(a.reason.length > 40, `${a.rule}: ${a.reason}`);
  });
});
