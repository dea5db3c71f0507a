import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Duration } from 'aws-cdk-lib';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AgentApi, AgentApiAuthorization, AgentBus, AgentFunction, AgentQueue, AgentStateTable, AuditBucket, ModelRouter, SkillBucket } from '../constructs/aws';
import { SingleAgentStack } from '../stacks/single-agent/single-agent-stack';
import { agentInput, reportingApp, ROUTER, SKILLS, synthWithRulePacks, testStack } from './helpers';

function assertClean(outcome: ReturnType<typeof synthWithRulePacks>) {
  assert.deepEqual(outcome.open, [], `open findings:\n${outcome.open.map((f) => `${f.rule} at ${f.paths.join(', ')}`).join('\n')}`);
  for (const a of outcome.acknowledged) assert.ok(a.reason.trim().length >= 20, `${a.rule} is acknowledged without a real reason`);
}

describe('security rule packs (cdk-nag AwsSolutions and Serverless)', () => {
  it('do report a finding nobody acknowledged (the check can fail)', () => {
    const app = reportingApp();
    new sqs.Queue(testStack(app), 'Bare');
    const rules = synthWithRulePacks(app).open.map((f) => f.rule);
    assert.ok(rules.includes('AwsSolutions-SQS3') && rules.includes('AwsSolutions-SQS4'), rules.join(', '));
  });

  it('report no open finding on SingleAgentStack, and every acknowledgment has a reason', () => {
    const app = reportingApp();
    new SingleAgentStack(app, 'Stage1', { env: { account: '123456789012', region: 'eu-west-1' }, models: ROUTER });
    const outcome = synthWithRulePacks(app);
    assertClean(outcome);
    assert.ok(outcome.acknowledged.length > 0, 'the report lists the acknowledged findings');
  });

  it('leave no "*" resource in any policy but X-Ray\'s, which has no narrower one', () => {
    const stack = new SingleAgentStack(new App(), 'Stage1', { env: { account: '123456789012', region: 'eu-west-1' }, models: ROUTER });
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    const documents = Object.values(resources).flatMap((r) =>
      r.Type === 'AWS::IAM::Role' ? (r.Properties.Policies ?? []).map((p: { PolicyDocument: unknown }) => p.PolicyDocument) : r.Type === 'AWS::IAM::Policy' ? [r.Properties.PolicyDocument] : [],
    ) as { Statement: { Action: string | string[]; Resource: unknown }[] }[];
    const starred = documents.flatMap((d) => d.Statement).filter((st) => [st.Resource].flat().includes('*'));
    assert.ok(starred.length > 0);
    for (const st of starred) assert.ok([st.Action].flat().every((a) => a.startsWith('xray:')), `"*" resource for ${JSON.stringify(st.Action)}`);
  });

  it('report no open finding on a stack that uses every construct option', () => {
    const app = reportingApp();
    const stack = testStack(app);
    const topic = new sns.Topic(stack, 'Alarms', { enforceSSL: true });
    const pool = new cognito.UserPool(stack, 'Users', {
      passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { sms: false, otp: true },
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
    });
    const router = new ModelRouter(stack, 'Models', { ...ROUTER, providers: { 'openai-compatible': { baseUrl: 'https://llm.internal.example.com/v1', apiKeySecret: 'team/vllm' } } });
    const skills = new SkillBucket(stack, 'Skills', { path: SKILLS });
    const bus = new AgentBus(stack, 'Bus', { eventBusName: 'agents', archiveRetention: Duration.days(90) });
    const api = new AgentApi(stack, 'Api', { authorization: AgentApiAuthorization.cognito([pool], ['agents/invoke']), rateLimit: 10, burstLimit: 20, stageName: 'prod', accessLogRetention: logs.RetentionDays.TWO_YEARS });
    const alarmAction = new cloudwatchActions.SnsAction(topic);
    new AgentFunction(stack, 'Research', {
      agent: agentInput({
        name: 'research',
        cohort: 'research',
        skills: ['ticket-triage', 'refund-requests'],
        tools: [
          { name: 'search', description: 'Search the wiki.', kind: 'mcp', url: 'https://mcp.internal.example.com/mcp', input: { type: 'object' } },
          { name: 'file_report', description: 'File a report.', kind: 'function', function: 'report-filer', input: { type: 'object' }, sideEffect: 'write', scopes: ['reports:write'] },
        ],
        triggers: [{ type: 'api' }, { type: 'job' }, { type: 'schedule', expression: 'rate(1 day)', input: 'Digest.' }, { type: 'event', pattern: { detailType: ['handoff'] } }],
        output: { schema: { type: 'object', properties: { price: { type: 'number' } } }, rules: [{ field: 'price', check: 'positive' }], minConfidence: 0.7 },
      }),
      router,
      skills,
      api,
      bus,
      state: new AgentStateTable(stack, 'State'),
      audit: new AuditBucket(stack, 'Audit', { retention: Duration.days(90) }),
      toolPolicy: { allowedScopes: ['reports:write'], allowWrite: true },
      queue: new AgentQueue(stack, 'ResearchQueue', { maxReceiveCount: 5, batchSize: 5, maxConcurrency: 3, visibilityTimeout: Duration.minutes(15), retentionPeriod: Duration.days(7), alarmAction }),
      memorySize: 2048,
      architecture: lambda.Architecture.X86_64,
      logRetention: logs.RetentionDays.SIX_MONTHS,
      reservedConcurrentExecutions: 10,
    });
    new AgentFunction(stack, 'Local', {
      agent: agentInput({ name: 'local', model: { provider: 'openai-compatible', model: 'llama-3.3-70b' } }),
      router,
      api,
    });
    assertClean(synthWithRulePacks(app));
  });

  for (const [flags, context] of [
    ['no feature flags', {}],
    ['every flag cdk init recommends', cxapi.CURRENTLY_RECOMMENDED_FLAGS],
  ] as const) {
    it(`hold with ${flags}: no open finding, and access logs delivered under a bucket policy, never an ACL`, () => {
      const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-flags-')), context: { ...context, '@aws-cdk/core:validationReportJson': true } });
      const stack = new SingleAgentStack(app, 'Stage1', { env: { account: '123456789012', region: 'eu-west-1' }, models: ROUTER });
      assertClean(synthWithRulePacks(app));
      const template = Template.fromStack(stack);
      const buckets = Object.values(template.findResources('AWS::S3::Bucket')) as { Properties: Record<string, unknown> }[];
      assert.ok(buckets.length >= 4);
      for (const bucket of buckets) assert.equal(bucket.Properties.AccessControl, undefined, 'no bucket ACL');
      const logged = buckets.filter((b) => b.Properties.LoggingConfiguration);
      assert.equal(logged.length, 3, 'the skill, audit and audit query results buckets are access-logged');
      for (const policy of Object.values(template.findResources('AWS::S3::BucketPolicy')) as { Properties: { PolicyDocument: { Statement: Record<string, any>[] } } }[]) {
        const delivery = policy.Properties.PolicyDocument.Statement.filter((st) => st.Principal?.Service === 'logging.s3.amazonaws.com');
        for (const st of delivery) assert.deepEqual(Object.keys(st.Condition).sort(), ['ArnLike', 'StringEquals']);
      }
      template.resourcePropertiesCountIs('AWS::S3::BucketPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' } })]) } }, 3);
    });
  }
});
