import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GitHubDeployRole, type GitHubDeployRoleProps } from '../../constructs/aws/github-deploy-role';
import { reportingApp, synthWithRulePacks } from '../helpers';

const env = { account: '123456789012', region: 'eu-west-1' };

function synth(props: Partial<GitHubDeployRoleProps> = {}, app: App = new App()): { template: Template; stack: Stack } {
  const stack = new Stack(app, 'Delivery', { env });
  new GitHubDeployRole(stack, 'GitHub', { repository: 'acme/agents', environments: ['staging', 'production'], ...props });
  return { template: Template.fromStack(stack), stack };
}

type Statement = { Effect: string; Action: string | string[]; Principal?: { Federated?: unknown }; Condition?: Record<string, Record<string, string | string[]>> };

/**
 * Whether STS would let a token with these claims assume the role, by the trust policy as
 * synthesized: an Allow of AssumeRoleWithWebIdentity whose every condition the claims meet
 * (StringEquals: the claim is one of the values; StringLike: it matches one of the patterns).
 */
function mayAssume(template: Template, claims: Record<string, string>): boolean {
  const [role] = Object.values(template.findResources('AWS::IAM::Role')) as { Properties: { AssumeRolePolicyDocument: { Statement: Statement[] } } }[];
  return role!.Properties.AssumeRolePolicyDocument.Statement.some((s) => {
    if (s.Effect !== 'Allow' || ![s.Action].flat().includes('sts:AssumeRoleWithWebIdentity')) return false;
    return Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, values]) => {
        const claim = claims[key.replace('token.actions.githubusercontent.com:', '')];
        if (claim === undefined) return false;
        const options = [values].flat();
        if (operator === 'StringEquals') return options.includes(claim);
        if (operator === 'StringLike') return options.some((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(claim));
        return false;
      }),
    );
  });
}

describe('GitHubDeployRole', () => {
  it('lets only a job of a named environment of the one repository assume it, with STS as the audience', () => {
    const { template } = synth();
    const token = (sub: string, aud = 'sts.amazonaws.com') => ({ sub, aud });
    assert.equal(mayAssume(template, token('repo:acme/agents:environment:production')), true);
    assert.equal(mayAssume(template, token('repo:acme/agents:environment:staging')), true);
    for (const [why, claims] of [
      ['another environment', token('repo:acme/agents:environment:sandbox')],
      ['another repository', token('repo:evil/agents:environment:production')],
      ['a repository of the same name under a prefix', token('repo:acme/agents-fork:environment:production')],
      ['a branch job without an environment', token('repo:acme/agents:ref:refs/heads/main')],
      ['a pull request', token('repo:acme/agents:pull_request')],
      ['a token for another audience', token('repo:acme/agents:environment:production', 'https://github.com/acme')],
    ] as const) {
      assert.equal(mayAssume(template, claims), false, why);
    }
    const [role] = Object.values(template.findResources('AWS::IAM::Role')) as { Properties: { AssumeRolePolicyDocument: { Statement: Statement[] }; MaxSessionDuration: number } }[];
    assert.deepEqual(role!.Properties.AssumeRolePolicyDocument.Statement[0]!.Principal!.Federated, { Ref: Object.keys(template.findResources('AWS::IAM::OIDCProvider'))[0] }, 'the provider\'s ARN');
    assert.equal(role!.Properties.MaxSessionDuration, 3600);
    template.hasResourceProperties('AWS::IAM::OIDCProvider', { Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] });
  });

  it("may assume exactly the CDK bootstrap roles of its targets and their smoke-check roles, and nothing else", () => {
    const { template } = synth({ targets: [env, { account: '210987654321', region: 'us-east-1' }] });
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: { Action: string[]; Resource: unknown[] }[] } } }[];
    const [statement, smoke, ...others] = policy!.Properties.PolicyDocument.Statement;
    assert.equal(others.length, 0);
    assert.equal(smoke!.Action, 'sts:AssumeRole');
    assert.deepEqual(smoke!.Resource.map((r) => JSON.stringify(r).replace(/\{"Ref":"AWS::Partition"\}/, 'aws')), ['{"Fn::Join":["",["arn:",aws,":iam::123456789012:role/smoke-*"]]}', '{"Fn::Join":["",["arn:",aws,":iam::210987654321:role/smoke-*"]]}']);
    const [only] = Object.values(synth({ smokeChecks: false }).template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: unknown[] } } }[];
    assert.equal(only!.Properties.PolicyDocument.Statement.length, 1, 'smokeChecks: false leaves the bootstrap roles only');
    assert.deepEqual(statement!.Action, ['sts:AssumeRole', 'sts:TagSession']);
    const arns = statement!.Resource.map((r) => JSON.stringify(r));
    assert.equal(arns.length, 8);
    for (const kind of ['deploy', 'file-publishing', 'image-publishing', 'lookup']) {
      assert.ok(arns.some((a) => a.includes(`:iam::123456789012:role/cdk-hnb659fds-${kind}-role-123456789012-eu-west-1`)), kind);
      assert.ok(arns.some((a) => a.includes(`:iam::210987654321:role/cdk-hnb659fds-${kind}-role-210987654321-us-east-1`)), kind);
    }
    assert.ok(arns.every((a) => !a.includes('*')), 'no wildcard');
  });

  it("passes the AwsSolutions and Serverless rule packs, acknowledging only the smoke-check roles' name pattern", () => {
    const app = reportingApp();
    synth({}, app);
    const report = synthWithRulePacks(app);
    assert.deepEqual(report.open, []);
    assert.deepEqual(report.acknowledged.map((a) => a.rule), ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::123456789012:role/smoke-*]']);
    assert.match(report.acknowledged[0]!.reason, /may only call one agent's invocation route/);
  });

  it('uses an account\'s existing provider, and refuses a bad repository, no environment, a wildcard, an unknown target', () => {
    const app = new App();
    const stack = new Stack(app, 'Existing', { env });
    const provider = { oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com' } as never;
    new GitHubDeployRole(stack, 'GitHub', { repository: 'acme/agents', environments: ['production'], provider });
    Template.fromStack(stack).resourceCountIs('AWS::IAM::OIDCProvider', 0);
    assert.throws(() => synth({ repository: 'agents' }), /GitHubDeployRole Delivery\/GitHub: repository: must be OWNER\/NAME/);
    assert.throws(() => synth({ environments: [] }), /environments: name at least one GitHub environment; without one any job of the repository could deploy/);
    assert.throws(() => synth({ environments: ['prod*'] }), /environments\[0\]: "prod\*" is not a GitHub environment name \(no wildcards\)/);
    assert.throws(() => new GitHubDeployRole(new Stack(new App(), 'NoEnv'), 'GitHub', { repository: 'acme/agents', environments: ['production'] }), /targets: give each target's account and region/);
  });
});
