import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { GITHUB_OIDC_ISSUER, githubRepositoryProblem, githubSubject } from '../../contract/delivery/github';
import { SMOKE_ROLE_PREFIX } from '../../contract/delivery/smoke-check';
import { acknowledgeGrantedWildcards } from './nag';

export { GITHUB_OIDC_ISSUER } from '../../contract/delivery/github';

/** An account and region a workflow deploys to: the CDK bootstrap roles there are what it may assume. */
export interface DeployTarget {
  readonly account: string;
  readonly region: string;
}

export interface GitHubDeployRoleProps {
  /** `owner/name` of the repository whose workflows may deploy. */
  readonly repository: string;
  /**
   * The GitHub environments whose jobs may assume the role, each with its own protection (required
   * reviewers, branches) in the repository's settings. A job of another environment, a branch or a
   * pull request without one, or another repository gets no credentials.
   */
  readonly environments: readonly string[];
  /** Where the workflow deploys. @default the stack's own account and region */
  readonly targets?: readonly DeployTarget[];
  /**
   * The account's GitHub OIDC provider, when it has one already (an account holds one per issuer).
   * @default one is created
   */
  readonly provider?: iam.IOidcProvider;
  /** The qualifier of the targets' CDK bootstrap. @default 'hnb659fds', the CDK's default */
  readonly bootstrapQualifier?: string;
  /** How long a job's credentials last. @default one hour */
  readonly maxSessionDuration?: Duration;
  /**
   * The role may also assume the targets' smoke-check roles (`SmokeCheck`, named `smoke-*`), each
   * of which may call one agent route only, to check a deploy as a client would.
   * @default true
   */
  readonly smokeChecks?: boolean;
}

const ENVIRONMENT = /^[A-Za-z0-9._ -]{1,255}$/;

/**
 * The role a GitHub Actions workflow deploys with, through GitHub's OIDC tokens instead of
 * long-lived keys. Only a job of one of the named environments of the one repository can assume
 * it: the token's audience must be STS and its subject exactly `repo:OWNER/NAME:environment:ENV`
 * (no wildcard, so a fork, another branch's job without the environment, or another repository is
 * refused). The role may do one thing: assume the CDK bootstrap roles of its targets (deploy, file
 * and image publishing, lookup), named exactly, which hold the deployment's own permissions; `cdk
 * deploy` uses them as it does from a laptop.
 */
export class GitHubDeployRole extends Construct {
  readonly role: iam.Role;
  readonly provider: iam.IOidcProvider;

  constructor(scope: Construct, id: string, props: GitHubDeployRoleProps) {
    super(scope, id);
    const problems: string[] = [];
    const repository = githubRepositoryProblem(props.repository);
    if (repository) problems.push(repository);
    if (!props.environments.length) problems.push('environments: name at least one GitHub environment; without one any job of the repository could deploy');
    props.environments.forEach((e, i) => {
      if (!ENVIRONMENT.test(e) || e.includes('*')) problems.push(`environments[${i}]: "${e}" is not a GitHub environment name (no wildcards)`);
    });
    if (problems.length) throw new Error(`GitHubDeployRole ${this.node.path}: ${problems.join('; ')}`);

    const stack = Stack.of(this);
    this.provider = props.provider ?? new iam.OidcProviderNative(this, 'Provider', { url: `https://${GITHUB_OIDC_ISSUER}`, clientIds: ['sts.amazonaws.com'] });
    this.role = new iam.Role(this, 'Role', {
      description: `Deploys from GitHub Actions: ${props.repository}, environments ${props.environments.join(', ')}`,
      maxSessionDuration: props.maxSessionDuration ?? Duration.hours(1),
      assumedBy: new iam.WebIdentityPrincipal(this.provider.oidcProviderArn, {
        StringEquals: {
          [`${GITHUB_OIDC_ISSUER}:aud`]: 'sts.amazonaws.com',
          [`${GITHUB_OIDC_ISSUER}:sub`]: props.environments.map((e) => githubSubject(props.repository, e)),
        },
      }),
    });
    const qualifier = props.bootstrapQualifier ?? 'hnb659fds';
    const targets = props.targets ?? [{ account: stack.account, region: stack.region }];
    for (const t of targets) {
      if (Token.isUnresolved(t.account) || Token.isUnresolved(t.region)) throw new Error(`GitHubDeployRole ${this.node.path}: targets: give each target's account and region (or the stack an env), so the role names the bootstrap roles it may assume`);
    }
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: targets.flatMap((t) => ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map((kind) => `arn:${stack.partition}:iam::${t.account}:role/cdk-${qualifier}-${kind}-role-${t.account}-${t.region}`)),
      }),
    );
    if (props.smokeChecks ?? true) {
      const smoke = [...new Set(targets.map((t) => t.account))].map((account) => `arn:${stack.partition}:iam::${account}:role/${SMOKE_ROLE_PREFIX}*`);
      this.role.addToPolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: smoke }));
      acknowledgeGrantedWildcards(this.role, smoke, "The targets' smoke-check roles (SmokeCheck names them smoke-<target>-<agent>), each of which may only call one agent's invocation route; the workflow assumes the one its stack outputs.");
    }
  }
}
