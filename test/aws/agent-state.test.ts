import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AgentApi, AgentFunction, AgentQueue, AgentStateTable, AuditBucket, ModelRouter } from '../../constructs/aws';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import { attemptId, auditKey } from '../../contract/audit/layout';
import { RUNTIME_ENV } from '../../contract/config/settings';
import { STATE_KEYS } from '../../contract/state/table';
import { agentInput, agentRoleStatements, ROUTER, testStack } from '../helpers';

function build() {
  const stack = testStack(new App());
  const state = new AgentStateTable(stack, 'State');
  const audit = new AuditBucket(stack, 'Audit');
  const api = new AgentApi(stack, 'Api');
  const agent = new AgentFunction(stack, 'Agent', {
    agent: agentInput({ triggers: [{ type: 'api' }, { type: 'job' }] }),
    router: new ModelRouter(stack, 'Models', { ...ROUTER, prices: { 'anthropic.claude-sonnet-4-5-20250929-v1:0': { inputPerMTok: 3, outputPerMTok: 15 }, unused: { inputPerMTok: 1, outputPerMTok: 1 } } }),
    api,
    queue: new AgentQueue(stack, 'Queue'),
    state,
    audit,
    toolPolicy: { allowedScopes: ['orders:read'], allowWrite: false },
  });
  const template = Template.fromStack(stack);
  const statements = agentRoleStatements(template);
  return { stack, template, statements, agent, state, audit };
}

describe('AgentStateTable and AuditBucket', () => {
  it('keep state in an on-demand, point-in-time recoverable table whose records expire', () => {
    build().template.hasResource('AWS::DynamoDB::GlobalTable', {
      Properties: {
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
        Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('let an agent touch only its own job and idempotency records', () => {
    const { statements } = build();
    const dynamo = statements.find((s) => [s.Action].flat().includes('dynamodb:PutItem'))!;
    assert.deepEqual(dynamo.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['job#helper#*', 'idem#helper#*', 'inbox#helper#*'] } });
    assert.ok(![dynamo.Action].flat().some((a: string) => a.includes('Scan') || a.includes('Query')));
  });

  it('keep two agents whose names are prefixes of each other out of each other\'s records', () => {
    const stack = testStack(new App());
    const state = new AgentStateTable(stack, 'State');
    const audit = new AuditBucket(stack, 'Audit');
    for (const name of ['support', 'support-eu']) {
      new AgentFunction(stack, name, { agent: agentInput({ name, model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }), state, audit });
    }
    const template = Template.fromStack(stack);
    // The keys the runtime writes: a job record, a Powertools idempotency record, an audit object.
    const recordsOf = (agent: string) => ({
      state: [STATE_KEYS.job(agent, 'job-1'), `${STATE_KEYS.idempotencyKeyPrefix(agent)}#3f2a9c`],
      audit: [auditKey(agent, '2026-12-01', 'run-1', attemptId(0, '000000'))],
    });
    for (const [agent, other] of [['support', 'support-eu'], ['support-eu', 'support']] as const) {
      const statements = agentRoleStatements(template, agent);
      const leadingKeys = statements.find((s) => [s.Action].flat().includes('dynamodb:PutItem'))!.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'] as string[];
      const auditObjects = [statements.find((s) => s.Action === 's3:PutObject')!.Resource].flat().map((r) => JSON.stringify(r).match(/\/(agent=[^"]*)"/)![1]!);
      for (const key of recordsOf(agent).state) assert.ok(leadingKeys.some((p) => stringLike(p, key)), `${agent} reaches its own ${key}`);
      for (const key of recordsOf(other).state) assert.ok(!leadingKeys.some((p) => stringLike(p, key)), `${agent} cannot reach ${key}`);
      for (const key of recordsOf(agent).audit) assert.ok(auditObjects.some((p) => stringLike(p, key)), `${agent} writes its own ${key}`);
      for (const key of recordsOf(other).audit) assert.ok(!auditObjects.some((p) => stringLike(p, key)), `${agent} cannot write ${key}`);
    }
  });

  it('let an agent write audit records under its own partition only', () => {
    const { statements } = build();
    const put = statements.find((s) => s.Action === 's3:PutObject')!;
    assert.match(JSON.stringify(put.Resource), /\/agent=helper\/\*"/);
  });

  it('keep audit records versioned, encrypted and access-logged for 400 days', () => {
    build().template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'audit/' }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 400, NoncurrentVersionExpiration: { NoncurrentDays: 30 } })] },
    });
  });

  it('give the function the table, the audit bucket and the receive limit of its queue, and no send on the dead-letter queue', () => {
    const { template, statements, stack, agent } = build();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [RUNTIME_ENV.stateTable]: { Ref: Match.stringLikeRegexp('^StateTable') },
          [RUNTIME_ENV.auditBucket]: { Ref: Match.stringLikeRegexp('^AuditBucket') },
          [RUNTIME_ENV.queueMaxReceives]: '3',
        }),
      },
    });
    // The agent sends the jobs the API hands it to its own queue; the queue dead-letters, the agent never sends there itself.
    const queue = stack.getLogicalId(agent.queue!.queue.node.defaultChild as CfnResource);
    const sends = statements.filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
    assert.deepEqual(sends.map((s) => s.Resource), [{ 'Fn::GetAtt': [queue, 'Arn'] }]);
  });

  it('carry the prices of the route models and the cohort tool policy in the runtime config', () => {
    const { template } = build();
    const fn = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }))[0] as { Properties: { Environment: { Variables: Record<string, string> } } };
    const config = decodeAgentConfig(fn.Properties.Environment.Variables[AGENT_CONFIG_ENV]!);
    assert.deepEqual(Object.keys(config.prices ?? {}), ['anthropic.claude-sonnet-4-5-20250929-v1:0']);
    assert.deepEqual(config.toolPolicy, { allowedScopes: ['orders:read'], allowWrite: false, deniedTools: [] });
  });

  it('serve job status straight from the table, reading job records only', () => {
    const { template } = build();
    const [get] = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'GET' } })) as { Properties: Record<string, any> }[];
    assert.equal(get!.Properties.AuthorizationType, 'AWS_IAM');
    assert.deepEqual(get!.Properties.RequestParameters, { 'method.request.path.name': true, 'method.request.path.jobId': true });
    assert.match(JSON.stringify(get!.Properties.Integration.Uri), /:dynamodb:action\/GetItem/);
    // The key is the runtime's (job#NAME#ID), its separators from a variable; api-contract.test.ts renders it.
    assert.match(JSON.stringify(get!.Properties.Integration.RequestTemplates), /#set\(\$hash = \\"#\\"\).*\\"S\\":\\"job\$\{hash\}\$\{name\}\$\{hash\}\$\{jobId\}\\"/s);
    assert.match(get!.Properties.Integration.IntegrationResponses[0].ResponseTemplates['application/json'], /responseOverride.status = 404/);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'dynamodb:GetItem', Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['job#*'] } } })]) },
    });
  });
});

/** IAM's StringLike: `*` any run of characters, `?` one character, everything else itself. */
function stringLike(pattern: string, value: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}
