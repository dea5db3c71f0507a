import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack, type StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import {
  AgentApi,
  AgentBus,
  AgentFunction,
  AgentStateTable,
  AuditBucket,
  DeadLetterQueue,
  ModelRouter,
  SkillBucket,
  type IAgentApi,
  type IAgentBus,
  type IAgentStateTable,
  type IAuditBucket,
  type IDeadLetterQueue,
  type ISkillBucket,
} from '../../constructs/aws';
import { agentInput, reportingApp, ROUTER, SKILLS, synthWithRulePacks } from '../helpers';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const PREFIX = 'platform-prod-';

/** What a platform team owns: the API, bus, skills, state, audit and dead letters. */
class PlatformStack extends Stack {
  readonly api: AgentApi;
  readonly bus: AgentBus;
  readonly skills: SkillBucket;
  readonly state: AgentStateTable;
  readonly audit: AuditBucket;
  readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: StackProps & { remoteAgents?: boolean }) {
    super(scope, id, props);
    this.skills = new SkillBucket(this, 'Skills', { path: SKILLS });
    this.bus = new AgentBus(this, 'Bus');
    this.state = new AgentStateTable(this, 'State');
    this.audit = new AuditBucket(this, 'Audit');
    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters');
    this.api = new AgentApi(this, 'Api', {
      state: this.state,
      agentNamePrefix: PREFIX,
      ...(props.remoteAgents && { agents: [{ name: 'support', jobs: true }] }),
    });
  }
}

interface Shared {
  readonly api: IAgentApi;
  readonly bus: IAgentBus;
  readonly skills: ISkillBucket;
  readonly state: IAgentStateTable;
  readonly audit: IAuditBucket;
  readonly deadLetters: IDeadLetterQueue;
}

/** What a product team owns: its agents, on the platform's shared resources. */
class AgentsStack extends Stack {
  readonly agent: AgentFunction;

  constructor(scope: Construct, id: string, props: StackProps & { shared: (stack: Stack) => Shared }) {
    super(scope, id, props);
    const shared = props.shared(this);
    this.agent = new AgentFunction(this, 'Support', {
      agent: agentInput({
        name: 'support',
        skills: ['ticket-triage'],
        triggers: [{ type: 'api' }, { type: 'job' }, { type: 'schedule', expression: 'rate(1 hour)', input: 'Sweep.' }, { type: 'event', pattern: { detailType: ['handoff'] } }],
      }),
      router: new ModelRouter(this, 'Models', ROUTER),
      api: shared.api,
      bus: shared.bus,
      skills: shared.skills,
      audit: shared.audit,
      deadLetterQueue: shared.deadLetters,
    });
  }
}

function resources(stack: Stack): Record<string, { Type: string; Properties: Record<string, any> }> {
  return Template.fromStack(stack).toJSON().Resources;
}

describe('a platform stack and an agents stack', () => {
  it('share the platform resources within one app without a dependency cycle, and pass the rule packs', () => {
    const app = reportingApp();
    const platform = new PlatformStack(app, 'Platform', { env: ENV });
    const agents = new AgentsStack(app, 'Agents', { env: ENV, shared: () => platform });
    const outcome = synthWithRulePacks(app);
    assert.deepEqual(outcome.open, [], outcome.open.map((f) => `${f.rule} at ${f.paths.join(', ')}`).join('\n'));

    assert.deepEqual(agents.dependencies.map((s) => s.stackName), ['Platform']);
    assert.deepEqual(platform.dependencies, []);
    const platformJson = JSON.stringify(Template.fromStack(platform).toJSON());
    assert.doesNotMatch(platformJson, /Fn::ImportValue/, 'the platform stack references nothing in the agents stack');

    const agentResources = Object.values(resources(agents));
    const fn = agentResources.find((r) => r.Type === 'AWS::Lambda::Function')!;
    assert.equal(fn.Properties.FunctionName, `${PREFIX}support`);

    // The API reaches the agent by those names; its role may invoke the functions of its prefix, in its own account and region.
    const platformResources = Object.values(resources(platform));
    const invoke = platformResources.find((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.HttpMethod === 'POST' && JSON.stringify(r.Properties.Integration.Uri).includes(':lambda:'))!;
    assert.match(JSON.stringify(invoke.Properties.Integration.RequestTemplates), /\{\\"support\\":\\"platform-prod-support\\"\}/);
    assert.match(platformJson, /:lambda:eu-west-1:123456789012:function:platform-prod-\*"/);
    assert.doesNotMatch(platformJson, /:sqs:/, 'jobs go through the agent function, which queues them itself');
  });

  it('share them across apps through fromXxxAttributes, the platform listing the agents it serves', () => {
    const platformApp = reportingApp();
    const platform = new PlatformStack(platformApp, 'Platform', { env: ENV, remoteAgents: true });
    assert.deepEqual(synthWithRulePacks(platformApp).open, []);
    assert.match(JSON.stringify(Template.fromStack(platform).toJSON()), /function:platform-prod-\*"/);

    const agentsApp = reportingApp();
    const agents = new AgentsStack(agentsApp, 'Agents', {
      env: ENV,
      shared: (stack) => {
        const state = AgentStateTable.fromAgentStateTableAttributes(stack, 'State', { tableName: 'platform-state' });
        return {
          state,
          api: AgentApi.fromAgentApiAttributes(stack, 'Api', { restApiId: 'abc123', agentNamePrefix: PREFIX, state }),
          bus: AgentBus.fromAgentBusAttributes(stack, 'Bus', { eventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/agents' }),
          skills: SkillBucket.fromSkillBucketAttributes(stack, 'Skills', { bucketName: 'platform-skills', path: SKILLS }),
          audit: AuditBucket.fromAuditBucketAttributes(stack, 'Audit', { bucketName: 'platform-audit' }),
          deadLetters: DeadLetterQueue.fromDeadLetterQueueAttributes(stack, 'DeadLetters', { queueArn: 'arn:aws:sqs:eu-west-1:123456789012:platform-dead-letters' }),
        };
      },
    });
    const outcome = synthWithRulePacks(agentsApp);
    assert.deepEqual(outcome.open, [], outcome.open.map((f) => `${f.rule} at ${f.paths.join(', ')}`).join('\n'));
    const acknowledged = outcome.acknowledged.map((a) => a.rule);
    assert.ok(acknowledged.includes('AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::platform-skills/ticket-triage/*]'), 'the wildcard on an imported bucket is acknowledged as the rule names it');
    assert.ok(acknowledged.includes('AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::platform-audit/agent=support/*]'));

    const json = JSON.stringify(Template.fromStack(agents).toJSON());
    for (const expected of [
      'platform-prod-support',
      ':dynamodb:eu-west-1:123456789012:table/platform-state',
      'arn:aws:events:eu-west-1:123456789012:event-bus/agents',
      ':s3:::platform-skills/ticket-triage/*',
      ':s3:::platform-audit/agent=support/*',
      'arn:aws:sqs:eu-west-1:123456789012:platform-dead-letters',
    ]) {
      assert.ok(json.includes(expected), `the agents stack names ${expected}`);
    }
    assert.equal(agents.agent.function.node.defaultChild && (agents.agent.function.node.defaultChild as any).functionName, `${PREFIX}support`);
  });

  it('refuses an agent function in another stack whose name the API cannot reach', () => {
    const app = new App();
    const platform = new PlatformStack(app, 'Platform', { env: ENV });
    const other = new Stack(app, 'Other', { env: ENV });
    const fn = new lambda.Function(other, 'Direct', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
    assert.throws(() => platform.api.addInvocations('direct', fn), /Other\/Direct: agent "direct" lives in another stack than its AgentApi, so its functionName must be "platform-prod-direct" \(the API's agentNamePrefix and the agent name\), not a generated one/);
  });
});
