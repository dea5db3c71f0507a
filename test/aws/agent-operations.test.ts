import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentOperations, AuditBucket, DeadLetterQueue, DEFAULT_MAX_EXTERNAL_COST_PER_HOUR } from '../../constructs/aws';
import { AUDIT_QUERIES } from '../../contract/audit/queries';
import { AUDIT_COLUMNS, hiveType } from '../../contract/audit/schema';
import { defineAgent } from '../../contract/definition';
import { agentInput, reportingApp, synthWithRulePacks, testStack } from '../helpers';

/** Agents in two cohorts, `support` and `finance`, the first `support-0`. */
const agents = (count: number) => Array.from({ length: count }, (_, i) => defineAgent(agentInput({ name: `support-${i}`, cohort: i % 2 ? 'finance' : 'support' })));

function operated(count = 3, app = new App(), extra: Partial<ConstructorParameters<typeof AgentOperations>[2]> = {}, before?: (stack: Stack) => void) {
  const stack = testStack(app);
  before?.(stack);
  const audit = new AuditBucket(stack, 'Audit');
  const deadLetters = new DeadLetterQueue(stack, 'DeadLetters');
  const operations = new AgentOperations(stack, 'Operations', {
    agents: agents(count),
    audit,
    deadLetterQueues: [deadLetters.queue],
    monthlyBudgetUsd: { support: 500, finance: 200 },
    maxExternalCostPerHour: { support: 5 },
    ...extra,
  });
  return { stack, operations, template: () => Template.fromStack(stack) };
}

/** A Fn::Join of literal text and tokens as one string, each token written as `TOKEN`. */
const joined = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(join[0]);
};

describe('AgentOperations', () => {
  it('projects partitions on agent and day over the audit layout, with the schema\'s columns', () => {
    const template = operated().template();
    const [table] = Object.values(template.findResources('AWS::Glue::Table')) as { Properties: { TableInput: Record<string, any> } }[];
    const input = table!.Properties.TableInput;
    assert.deepEqual(input.PartitionKeys.map((k: { Name: string; Type: string }) => [k.Name, k.Type]), [['agent', 'string'], ['day', 'string']]);
    const p = input.Parameters;
    assert.deepEqual([p['projection.enabled'], p['projection.agent.type'], p['projection.agent.values']], ['true', 'enum', 'support-0,support-1,support-2']);
    assert.deepEqual([p['projection.day.type'], p['projection.day.format'], p['projection.day.range'], p['projection.day.interval.unit']], ['date', 'yyyy-MM-dd', '2025-01-01,NOW', 'DAYS']);
    assert.equal(joined(p['storage.location.template']), 's3://TOKEN/agent=${agent}/date=${day}/');
    const columns = input.StorageDescriptor.Columns.map((c: { Name: string; Type: string }) => [c.Name, c.Type]);
    assert.deepEqual(columns, AUDIT_COLUMNS.map((c) => [c.name, hiveType(c.type)]));
    assert.equal(input.StorageDescriptor.SerdeInfo.SerializationLibrary, 'org.openx.data.jsonserde.JsonSerDe');
    assert.equal(input.StorageDescriptor.SerdeInfo.Parameters['mapping.run_id'], 'runid');
    assert.equal(input.StorageDescriptor.SerdeInfo.Parameters['mapping.type'], undefined, 'a column named as its field needs no mapping');
    assert.equal(template.findResources('AWS::Glue::Crawler') && Object.keys(template.findResources('AWS::Glue::Crawler')).length, 0);
  });

  it('enforces encrypted results and a scan limit in its Athena workgroup, and saves the standard questions there', () => {
    const { stack, operations, template: synth } = operated(3, new App(), { scanLimit: Size.gibibytes(2) });
    const template = synth();
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 2 * 1024 ** 3,
        ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [Match.stringLikeRegexp('ResultsKey'), 'Arn'] } } },
      },
    });
    const named = Object.values(template.findResources('AWS::Athena::NamedQuery')) as { Properties: Record<string, any> }[];
    assert.deepEqual(named.map((q) => q.Properties.Name).sort(), AUDIT_QUERIES.map((q) => q.name).sort());
    for (const query of named) {
      assert.equal(query.Properties.QueryString, AUDIT_QUERIES.find((q) => q.name === query.Properties.Name)!.sql('audit'));
      assert.equal(query.Properties.Database, operations.queries.databaseName);
      assert.deepEqual(query.Properties.WorkGroup, stack.resolve(operations.queries.workGroup.ref));
    }
    assert.match(operations.queries.databaseName, /^agent_audit_[a-z0-9_]+$/);
  });

  it('shows the fleet on one dashboard with variables to pick a cohort and an agent, and dead-letter depth', () => {
    const template = operated().template();
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardBody: unknown } }[];
    const body = JSON.parse(joined(dashboard!.Properties.DashboardBody));
    assert.deepEqual(
      body.variables.map((v: Record<string, unknown>) => [v.id, v.type, v.property, v.inputType, v.populateFrom, v.defaultValue]),
      [
        ['cohort', 'property', 'cohort', 'select', 'cohort', 'support'],
        ['agent', 'property', 'agent', 'select', 'agent', 'support-0'],
      ],
    );
    const titles = body.widgets.map((w: { properties: { title?: string } }) => w.properties.title).filter(Boolean);
    for (const title of ['Fleet: runs by cohort', 'Cohort: latency', 'Agent: cost (USD an hour)', 'Dead letters waiting', 'Cohort alarms']) assert.ok(titles.includes(title), title);
    const latency = body.widgets.find((w: { properties: { title?: string } }) => w.properties.title === 'Cohort: latency').properties.metrics;
    assert.deepEqual(latency.map((m: unknown[]) => (m.at(-1) as { stat: string }).stat), ['p50', 'p90', 'p99']);
    assert.ok(body.widgets.every((w: { x: number; width: number }) => w.x + w.width <= 24), 'every widget within the grid');
    assert.match(JSON.stringify(body), /ApproximateNumberOfMessagesVisible/);
  });

  it('alarms once per cohort through a composite wired to the encrypted topic, and never per agent', () => {
    const template = operated().template();
    const composites = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm')) as { Properties: Record<string, any> }[];
    assert.equal(composites.length, 2);
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    for (const composite of composites) assert.deepEqual(composite.Properties.AlarmActions, [{ Ref: topicId }]);
    const support = composites.find((c) => /support/.test(c.Properties.AlarmDescription))!;
    assert.equal((joined(support.Properties.AlarmRule).match(/ALARM\(/g) ?? []).length, 3, 'failure rate, validation rate, external cost');
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: Record<string, any> }[];
    const cohortRules = alarms.filter((a) => /cohort/.test(a.Properties.AlarmDescription ?? ''));
    assert.ok(cohortRules.every((a) => a.Properties.AlarmActions === undefined), 'only composites notify');
    const external = alarms.find((a) => /^Cohort support spent over .* outside the cloud's bill/.test(a.Properties.AlarmDescription))!;
    assert.deepEqual([external.Properties.MetricName, external.Properties.Period, external.Properties.Threshold], ['ExternalCostUsd', 3600, 5]);
    const finance = alarms.find((a) => /^Cohort finance spent over .* outside the cloud's bill/.test(a.Properties.AlarmDescription))!;
    assert.equal(finance.Properties.Threshold, DEFAULT_MAX_EXTERNAL_COST_PER_HOUR, 'a cohort not named takes the default');
    assert.deepEqual(external.Properties.Dimensions, [{ Name: 'cohort', Value: 'support' }, { Name: 'service', Value: 'serverless-agents' }], 'the cohort\'s total, not an agent\'s');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('budgets each cohort on its cost allocation tag, alerting the topic on spend and forecast', () => {
    const template = operated().template();
    const budgets = Object.values(template.findResources('AWS::Budgets::Budget')) as { Properties: Record<string, any> }[];
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    assert.deepEqual(budgets.map((b) => [b.Properties.Budget.CostFilters.TagKeyValue, b.Properties.Budget.BudgetLimit.Amount]).sort(), [
      [['user:cohort$finance'], 200],
      [['user:cohort$support'], 500],
    ]);
    // Budget and dashboard names are the account's, across regions.
    assert.deepEqual(budgets.map((b) => b.Properties.Budget.BudgetName).sort(), ['Test-eu-west-1-finance', 'Test-eu-west-1-support']);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Test-eu-west-1' });
    for (const budget of budgets) {
      assert.deepEqual(budget.Properties.NotificationsWithSubscribers.map((n: any) => [n.Notification.NotificationType, n.Notification.Threshold, n.Subscribers[0].Address]), [
        ['ACTUAL', 80, { Ref: topicId }],
        ['FORECASTED', 100, { Ref: topicId }],
      ]);
    }
    // A topic policy replaces SNS's default one: alarms and budgets are each let in again, from this account only.
    const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy')) as { Properties: { PolicyDocument: { Statement: Record<string, any>[] } } }[];
    const publishers = policy!.Properties.PolicyDocument.Statement.filter((st) => st.Effect === 'Allow').map((st) => [st.Principal.Service, st.Action, st.Condition.StringEquals['aws:SourceAccount']]);
    assert.deepEqual(publishers, [
      ['cloudwatch.amazonaws.com', 'sns:Publish', '123456789012'],
      ['budgets.amazonaws.com', 'sns:Publish', '123456789012'],
    ]);
    assert.match(joined(policy!.Properties.PolicyDocument.Statement.find((st) => st.Principal?.Service === 'cloudwatch.amazonaws.com')!.Condition.ArnLike['aws:SourceArn']), /:cloudwatch:eu-west-1:123456789012:alarm:\*$/);
    const [key] = Object.values(template.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('alarms and budgets') } })) as { Properties: { KeyPolicy: { Statement: Record<string, any>[] } } }[];
    const users = key!.Properties.KeyPolicy.Statement.filter((st) => st.Principal?.Service).map((st) => st.Principal.Service);
    assert.deepEqual(users, ['cloudwatch.amazonaws.com', 'budgets.amazonaws.com'], 'both may use the topic\'s key');
  });

  it('holds as many resources for 30 agents as for 3', () => {
    const count = (n: number) => Object.keys(operated(n).template().toJSON().Resources).length;
    assert.equal(count(30), count(3));
  });

  it('grants an operator exactly the workgroup, the table, read on the audit and the results', () => {
    const { stack, operations } = operated();
    const role = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    operations.queries.grantQuery(role);
    const statements = (Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))[0] as { Properties: { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement;
    const actions = statements.flatMap((s) => s.Action);
    assert.ok(actions.includes('athena:StartQueryExecution') && actions.includes('glue:GetTable') && actions.includes('kms:Decrypt'));
    assert.ok(!actions.some((a) => /^s3:(Delete|PutObject$)/.test(a) && JSON.stringify(statements.find((s) => s.Action.includes(a))!.Resource).includes('AuditBucket')), 'the audit stays read-only');
  });

  it('fails synth naming the field for a budget of an unknown cohort or a bad limit', () => {
    assert.throws(() => operated(3, new App(), { monthlyBudgetUsd: { research: 10 } }), /AgentOperations Test\/Operations: monthlyBudgetUsd\.research: no agent is of that cohort \(support, finance\)/);
    assert.throws(() => operated(3, new App(), { scanLimit: Size.mebibytes(1) }), /scanLimit must be at least 10 MB/);
    assert.throws(() => operated(3, new App(), { maxExternalCostPerHour: { research: 1 } }), /maxExternalCostPerHour\.research: not one of the cohorts/);
  });

  it('passes the AwsSolutions and Serverless rule packs', () => {
    const app = reportingApp();
    operated(3, app);
    const outcome = synthWithRulePacks(app);
    assert.deepEqual(outcome.open, []);
  });

  it('can sit in another stack than the audit bucket', () => {
    const app = new App();
    const base = new Stack(app, 'Base', { env: { account: '123456789012', region: 'eu-west-1' } });
    const audit = new AuditBucket(base, 'Audit');
    const ops = new Stack(app, 'Ops', { env: { account: '123456789012', region: 'eu-west-1' } });
    new AgentOperations(ops, 'Operations', { agents: agents(2), audit });
    Template.fromStack(ops).resourceCountIs('AWS::Glue::Table', 1);
  });
});
