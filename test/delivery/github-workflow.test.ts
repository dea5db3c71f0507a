import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateWorkflow } from '@action-validator/core';
import { parse } from 'yaml';
import { githubWorkflow, type DeliveryEnvironment } from '../../constructs/delivery/github-workflow';

const ENVIRONMENTS: DeliveryEnvironment[] = [
  { name: 'dev', aws: { roleArn: 'arn:aws:iam::111111111111:role/deliver', region: 'eu-west-1', stacks: ['SupportAgent-dev'] }, azure: { clientId: 'c1', tenantId: 't1', subscriptionId: 's1', stacks: ['support-agent-dev'] }, smoke: { agent: 'support', input: "I was charged twice; it's ord_12345678.", expect: '"category":"billing"' } },
  { name: 'prod-eu', wave: 2, aws: { roleArn: 'arn:aws:iam::222222222222:role/deliver', region: 'eu-west-1', stacks: ['SupportAgent-prod'] }, smoke: { agent: 'support', input: 'Charged twice.' } },
  { name: 'prod-us', wave: 2, aws: { roleArn: 'arn:aws:iam::222222222222:role/deliver', region: 'us-east-1', stacks: ['SupportAgent-prod'] } },
];

type Job = { needs?: string[]; environment?: string; permissions?: Record<string, string>; steps: { uses?: string; run?: string; with?: Record<string, string>; env?: Record<string, string> }[] };

describe('the generated GitHub Actions workflow', () => {
  const text = githubWorkflow({ environments: ENVIRONMENTS });
  const workflow = parse(text) as { on: unknown; permissions: Record<string, string>; concurrency: Record<string, unknown>; jobs: Record<string, Job> };

  it('passes the workflow linter', () => {
    assert.deepEqual(validateWorkflow(text).errors, []);
    assert.notDeepEqual(validateWorkflow(text.replace('runs-on', 'runs-onn')).errors, [], 'the linter can fail');
  });

  it('runs the checks a fresh clone runs, then promotes through the environments in order, production regions in parallel', () => {
    assert.deepEqual(Object.keys(workflow.jobs), ['checks', 'deliver-dev', 'deliver-prod-eu', 'deliver-prod-us']);
    assert.deepEqual(workflow.jobs.checks!.steps.map((s) => s.run ?? s.uses), ['actions/checkout@v4', 'actions/setup-node@v4', 'npm ci', 'npm test', 'npm run synth']);
    assert.deepEqual(workflow.jobs['deliver-dev']!.needs, ['checks']);
    assert.deepEqual(workflow.jobs['deliver-prod-eu']!.needs, ['deliver-dev']);
    assert.deepEqual(workflow.jobs['deliver-prod-us']!.needs, ['deliver-dev'], 'the same wave: after dev, beside prod-eu');
    assert.deepEqual(workflow.concurrency, { group: 'deliver-agents', 'cancel-in-progress': false });
    assert.deepEqual(workflow.permissions, { contents: 'read' });
  });

  it('deploys each environment in its GitHub environment with OIDC credentials only, then checks its agent', () => {
    const dev = workflow.jobs['deliver-dev']!;
    assert.equal(dev.environment, 'dev');
    assert.deepEqual(dev.permissions, { 'id-token': 'write', contents: 'read' });
    const aws = dev.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials'))!;
    assert.deepEqual(aws.with, { 'role-to-assume': 'arn:aws:iam::111111111111:role/deliver', 'aws-region': 'eu-west-1' });
    assert.ok(!text.includes('aws-access-key-id') && !text.includes('secrets.'), 'no stored keys');
    const runs = dev.steps.map((s) => s.run ?? '');
    assert.ok(runs.includes('npx cdk deploy SupportAgent-dev -c stage=dev --require-approval never --outputs-file cdk-outputs.json'));
    const smoke = runs.find((r) => r.includes('npm run smoke'))!;
    assert.match(smoke, /--agent 'support' --input 'I was charged twice; it'\\''s ord_12345678\.' --expect '"category":"billing"'/);
    const azure = dev.steps.find((s) => s.uses === 'azure/login@v2')!;
    assert.deepEqual(azure.with, { 'client-id': 'c1', 'tenant-id': 't1', 'subscription-id': 's1' });
    const cdktf = dev.steps.find((s) => s.run?.startsWith('npx cdktf deploy'))!;
    assert.equal(cdktf.run, 'npx cdktf deploy support-agent-dev --auto-approve');
    assert.equal(cdktf.env!.ARM_USE_OIDC, 'true');
    assert.ok(!workflow.jobs['deliver-prod-us']!.steps.some((s) => s.run?.includes('npm run smoke')), 'no check where none is asked');
  });

  it('refuses an environment list it cannot deliver, naming each field', () => {
    assert.throws(() => githubWorkflow({ environments: [] }), /environments: name at least one/);
    assert.throws(
      () => githubWorkflow({ environments: [{ name: 'dev', smoke: { agent: 'a', input: 'b' } }, { name: 'dev', aws: { roleArn: 'role/deliver', region: 'eu-west-1', stacks: [] } }] }),
      /environments\[0\]: deploys nothing \(give it aws or azure\); environments\[0\]\.smoke: checks an AWS API; the environment deploys none; environments\[1\]\.name: "dev" is listed twice; environments\[1\]\.aws\.roleArn: "role\/deliver" is not a role ARN; environments\[1\]\.aws\.stacks: name at least one stack/,
    );
  });
});
