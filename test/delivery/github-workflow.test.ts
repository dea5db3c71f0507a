import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateWorkflow } from '@action-validator/core';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleWorkflow, WORKFLOW_FILE } from '../../bin/workflow';
import { deliveryEnvironments, githubWorkflow, type DeliveryEnvironment } from '../../contract/delivery/github-workflow';
import { parseEnvironments } from '../../contract/delivery/environments';
import { REPO } from '../helpers';

const ENVIRONMENTS: DeliveryEnvironment[] = [
  { name: 'dev', aws: { roleArn: 'arn:aws:iam::111111111111:role/deliver', region: 'eu-west-1', stacks: ['SupportAgent-dev'] }, azure: { clientId: 'c1', tenantId: 't1', subscriptionId: 's1', stacks: ['support-agent-dev'] }, smoke: { agent: 'support', input: "I was charged twice; it's ord_12345678.", expect: '"category":"billing"', stacks: ['SupportAgent-dev'] } },
  { name: 'prod-eu', wave: 2, aws: { roleArn: 'arn:aws:iam::222222222222:role/deliver', region: 'eu-west-1', stacks: ['SupportAgent-prod'] }, smoke: { agent: 'support', input: 'Charged twice.', stacks: ['SupportAgent-prod'] } },
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
    assert.ok(runs.includes('npx cdk deploy SupportAgent-dev -c stage=dev --require-approval never --concurrency 4 --outputs-file cdk-outputs.json'));
    const smoke = runs.find((r) => r.includes('npm run smoke'))!;
    assert.match(smoke, /--agent 'support' --input 'I was charged twice; it'\\''s ord_12345678\.' --expect '"category":"billing"'/);
    // The URL and the check's role come from the stack's SmokeCheck outputs; the check runs with that role's credentials.
    assert.match(smoke, /SMOKE_API_URL="\$\(node -p .*'SupportAgent-dev' SmokeApiUrl\)"/);
    assert.match(smoke, /SMOKE_ROLE_ARN="\$\(node -p .*'SupportAgent-dev' SmokeCheckRoleArn\)"/);
    assert.match(smoke, /aws sts assume-role --role-arn "\$SMOKE_ROLE_ARN"/);
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
      () => githubWorkflow({ environments: [{ name: 'dev', smoke: { agent: 'a', input: 'b', stacks: ['S'] } }, { name: 'dev', aws: { roleArn: 'role/deliver', region: 'eu-west-1', stacks: [] } }] }),
      /environments\[0\]: deploys nothing \(give it aws or azure\); environments\[0\]\.smoke: checks an AWS API; the environment deploys none; environments\[1\]\.name: "dev" is listed twice; environments\[1\]\.aws\.roleArn: "role\/deliver" is not a role ARN or a \$\{\{ vars\.NAME \}\} expression; environments\[1\]\.aws\.stacks: name at least one stack/,
    );
    assert.throws(() => githubWorkflow({ environments: [{ name: 'dev', aws: { roleArn: '${{ vars.ROLE }}', region: 'eu-west-1', stacks: ['A'] }, smoke: { agent: 'a', input: 'b', stacks: ['B'] } }] }), /environments\[0\]\.smoke\.stacks: checks a stack the environment does not deploy/);
    assert.throws(() => githubWorkflow({ environments: [{ name: 'dev', aws: { roleArn: '${{ github.event.issue.title }}', region: 'eu-west-1', stacks: ['A'] } }] }), /is not a role ARN or a/, 'only a variable or secret, never an expression an outsider controls');
  });
});

describe('the workflow from the environment list', () => {
  const environments = parseEnvironments(JSON.parse(readFileSync(join(REPO, 'environments.json'), 'utf8')), 'environments.json');
  const text = exampleWorkflow(environments);
  const workflow = parse(text) as { jobs: Record<string, Job> };

  it('is the committed .github/workflows/deliver-agents.yml, which passes the linter', () => {
    assert.equal(readFileSync(WORKFLOW_FILE, 'utf8'), text, 'run npm run workflow after changing environments.json');
    assert.deepEqual(validateWorkflow(text).errors, []);
  });

  it('has one job per environment, in the list\'s order, each deploying every region and checking each one', () => {
    assert.deepEqual(Object.keys(workflow.jobs), ['checks', 'deliver-dev', 'deliver-prod']);
    assert.deepEqual(workflow.jobs['deliver-prod']!.needs, ['deliver-dev']);
    assert.equal(workflow.jobs['deliver-prod']!.environment, 'prod', 'its GitHub environment, where the required reviewers are');
    const steps = workflow.jobs['deliver-prod']!.steps;
    assert.ok(steps.some((s) => s.run?.startsWith('npx cdk deploy SupportAgent-prod SupportTeam-prod HybridAgents-prod SupportAgent-prod-eu-west-3 SupportTeam-prod-eu-west-3 HybridAgents-prod-eu-west-3 -c stage=prod')));
    assert.deepEqual(steps.filter((s) => s.run?.includes('npm run smoke')).map((s) => /'(SupportAgent-[a-z0-9-]+)' SmokeApiUrl/.exec(s.run!)![1]), ['SupportAgent-prod', 'SupportAgent-prod-eu-west-3']);
    assert.ok(steps.some((s) => s.run === 'npx cdktf deploy support-agent-prod multi-agent-prod hybrid-agents-prod --auto-approve --outputs-file cdktf-outputs.json'));
    // Production rolls out by canary: on Azure, the staged versions are swapped in and watched after the deploy.
    const deploy = steps.findIndex((s) => s.run?.startsWith('npx cdktf deploy'));
    // Logged in again first: the token of the first login has expired after a long deploy.
    assert.equal(steps[deploy + 1]!.uses, 'azure/login@v2');
    assert.equal(steps[deploy + 2]!.run, 'npm run azure-rollout -- --outputs cdktf-outputs.json');
    assert.equal(steps[deploy + 2]!.env!.ARM_USE_OIDC, 'true');
    assert.ok(!workflow.jobs['deliver-dev']!.steps.some((s) => s.run?.includes('azure-rollout')), 'dev deploys at once');
    assert.equal(steps.find((s) => s.uses?.startsWith('aws-actions/'))!.with!['role-to-assume'], '${{ vars.AWS_DEPLOY_ROLE_ARN }}');
    assert.match(text, /required reviewers for prod\./);
  });

  it('takes a subscription named in the list instead of the variable', () => {
    const envs = parseEnvironments({ qa: { azure: { location: 'westeurope', subscriptionId: '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f' } } }, 'test');
    const [qa] = deliveryEnvironments(envs, { aws: () => [], azure: (n) => [`app-${n}`] });
    assert.equal(qa!.azure!.subscriptionId, '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f');
    assert.equal(qa!.aws, undefined);
  });
});
