import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ModelRouter } from '../../constructs/aws';
import { defineAgent } from '../../contract/definition';
import { toRuntimeTarget } from '../../contract/routing/config';
import { agentInput, ROUTER, testStack } from '../helpers';

function granted(cohort: string, model = 'smart', cohortInferenceProfiles = false) {
  const stack = testStack(new App());
  const router = new ModelRouter(stack, 'Models', { ...ROUTER, providers: { 'openai-compatible': { baseUrl: 'https://llm.internal.example.com/v1', apiKeySecret: 'team/vllm' } }, cohortInferenceProfiles });
  const agent = defineAgent(agentInput({ cohort, model: model as never }));
  router.grantInvoke(new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }), agent);
  const [policy] = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }[];
  return { stack, router, agent, statements: policy!.Properties.PolicyDocument.Statement };
}

describe('ModelRouter', () => {
  it('resolves an alias through the default policy to ordered targets', () => {
    const { router, agent } = granted('default');
    assert.deepEqual(router.route(agent).map((t) => t.provider), ['bedrock', 'anthropic']);
    assert.deepEqual(router.aliases(), ['fast', 'smart']);
  });

  it('lets a cohort override an alias and keeps the others from the default policy', () => {
    const { router } = granted('research');
    assert.deepEqual(router.route(defineAgent(agentInput({ cohort: 'research' }))).map((t) => t.provider), ['bedrock-inference-profile']);
    assert.deepEqual(router.route(defineAgent(agentInput({ cohort: 'research', model: 'fast' }))).map((t) => t.provider), ['bedrock']);
  });

  it('grants invoke on exactly the Bedrock models and read on exactly the secrets of the route', () => {
    const { statements } = granted('default');
    const bedrock = statements.find((s) => JSON.stringify(s.Action).includes('bedrock'))!;
    assert.deepEqual(bedrock.Action, ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream']);
    assert.deepEqual(bedrock.Resource, { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':bedrock:eu-west-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0']] });
    const secret = statements.find((s) => JSON.stringify(s.Action).includes('secretsmanager'))!;
    assert.deepEqual(secret.Action, ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']);
    assert.match(JSON.stringify(secret.Resource), /:secret:team\/anthropic-\?\?\?\?\?\?/);
    assert.equal(statements.length, 2);
  });

  it('grants an inference profile and its model in the profile regions only', () => {
    const { statements } = granted('research');
    const resources = JSON.stringify(statements[0]!.Resource);
    assert.match(resources, /:bedrock:eu-west-1:123456789012:inference-profile\/eu\.anthropic\.claude-opus-4-1-20250805-v1:0/);
    assert.match(resources, /:bedrock:eu-west-1::foundation-model\/anthropic\.claude-opus-4-1-20250805-v1:0/);
    assert.match(resources, /:bedrock:eu-central-1::foundation-model\/anthropic\.claude-opus-4-1-20250805-v1:0/);
    assert.doesNotMatch(resources, /\*/);
  });

  it('routes a direct OpenAI-compatible reference with the provider credentials and grants no Bedrock', () => {
    const { router, agent, statements } = granted('default', { provider: 'openai-compatible', model: 'llama-3.3-70b' } as never);
    assert.deepEqual(router.route(agent), [{ provider: 'openai-compatible', model: 'llama-3.3-70b', baseUrl: 'https://llm.internal.example.com/v1', apiKeySecret: 'team/vllm' }]);
    assert.ok(!JSON.stringify(statements).includes('bedrock'));
    assert.match(JSON.stringify(statements), /secret:team\/vllm-/);
  });

  it('reaches an Azure OpenAI deployment from AWS as an OpenAI-compatible target, its key in Secrets Manager', () => {
    const stack = testStack(new App());
    const router = new ModelRouter(stack, 'Models', { aliases: { smart: [{ provider: 'azure-openai', resource: 'agents-openai', deployment: 'gpt-4-1', apiKeySecret: 'team/azure-openai' }] }, cohortInferenceProfiles: true });
    const agent = defineAgent(agentInput());
    router.grantInvoke(new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }), agent);
    assert.deepEqual(router.route(agent).map(toRuntimeTarget), [{ provider: 'openai-compatible', model: 'gpt-4-1', baseUrl: 'https://agents-openai.openai.azure.com/openai/v1', apiKeySecret: 'team/azure-openai', billedBy: 'azure' }]);
    assert.deepEqual(router.inferenceProfiles(agent), {}, 'no profile where no Bedrock');
    const [policy] = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }[];
    assert.deepEqual(policy!.Properties.PolicyDocument.Statement.map((s) => s.Action), [['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']]);
  });

  it('creates no resources until an agent is routed', () => {
    const stack = testStack(new App());
    new ModelRouter(stack, 'Models', ROUTER);
    assert.deepEqual(Object.keys(Template.fromStack(stack).toJSON().Resources ?? {}), []);
  });

  it('gives each cohort an application inference profile per Bedrock model, tagged with the cohort, and grants invoke on it', () => {
    const { stack, router, agent, statements } = granted('default', 'smart', true);
    const template = Template.fromStack(stack);
    const profiles = template.findResources('AWS::Bedrock::ApplicationInferenceProfile');
    assert.equal(Object.keys(profiles).length, 1, 'the route\'s one Bedrock model; Anthropic\'s API has none');
    const [id, profile] = Object.entries(profiles)[0]!;
    assert.deepEqual(profile.Properties.Tags, [{ Key: 'cohort', Value: 'default' }]);
    assert.match(JSON.stringify(profile.Properties.ModelSource.CopyFrom), /:bedrock:eu-west-1::foundation-model\/anthropic\.claude-sonnet-4-5-20250929-v1:0/);
    assert.match(profile.Properties.InferenceProfileName, /^default-[0-9a-f]{10}$/);
    assert.deepEqual(stack.resolve(Object.values(router.inferenceProfiles(agent))), [{ 'Fn::GetAtt': [id, 'InferenceProfileArn'] }]);
    const bedrock = statements.find((s) => JSON.stringify(s.Action).includes('bedrock'))!;
    assert.deepEqual((bedrock.Resource as unknown[])[0], { 'Fn::GetAtt': [id, 'InferenceProfileArn'] }, 'the profile, and the model under it');
    assert.match(JSON.stringify((bedrock.Resource as unknown[])[1]), /foundation-model\/anthropic\.claude-sonnet/);
  });

  it('keeps each cohort\'s profile under the same logical id and name whatever other cohorts come first', () => {
    const profiles = (cohorts: string[]) => {
      const stack = testStack(new App());
      const router = new ModelRouter(stack, 'Models', ROUTER);
      cohorts.forEach((cohort, i) => router.grantInvoke(new iam.Role(stack, `Agent${i}`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }), defineAgent(agentInput({ name: `a-${i}`, cohort, model: 'fast' }))));
      return Object.fromEntries(Object.entries(Template.fromStack(stack).findResources('AWS::Bedrock::ApplicationInferenceProfile')).map(([id, r]) => [r.Properties.Tags[0].Value, [id, r.Properties.InferenceProfileName]]));
    };
    assert.deepEqual(profiles(['default'])['default'], profiles(['research', 'default'])['default']);
  });

  it('grants a global profile\'s model without a region too, as Bedrock authorizes it', () => {
    const stack = testStack(new App());
    const router = new ModelRouter(stack, 'Models', { aliases: { smart: [{ provider: 'bedrock-inference-profile', profile: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', regions: ['eu-west-1'] }] }, cohortInferenceProfiles: false });
    router.grantInvoke(new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }), defineAgent(agentInput()));
    assert.match(JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy')), /:bedrock:::foundation-model\/anthropic\.claude-sonnet-4-5-20250929-v1:0/);
  });

  it('shares one profile among a cohort\'s agents and gives another cohort its own, over a system profile too', () => {
    const stack = testStack(new App());
    const router = new ModelRouter(stack, 'Models', ROUTER);
    const role = () => new iam.Role(stack, `Agent${stack.node.children.length}`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    for (let i = 0; i < 5; i++) router.grantInvoke(role(), defineAgent(agentInput({ name: `support-${i}` })));
    router.grantInvoke(role(), defineAgent(agentInput({ name: 'researcher', cohort: 'research' })));
    const profiles = Object.values(Template.fromStack(stack).findResources('AWS::Bedrock::ApplicationInferenceProfile'));
    assert.deepEqual(profiles.map((p) => p.Properties.Tags[0].Value).sort(), ['default', 'research']);
    const research = profiles.find((p) => p.Properties.Tags[0].Value === 'research')!;
    assert.match(JSON.stringify(research.Properties.ModelSource.CopyFrom), /inference-profile\/eu\.anthropic\.claude-opus/);
  });
});
