import { stringify } from 'yaml';
import { awsTargets, targetStackName, type AwsTarget, type DeploymentEnvironments } from './environments';
import { isGradual } from './rollout';
import { SMOKE_OUTPUTS, shellQuote, smokeCommands, type SmokeQuestion } from './smoke-check';

/**
 * One environment a change is promoted through, in order: its GitHub environment (where the
 * repository's settings put required reviewers), what it deploys on each cloud and with which
 * identity, and the check that must pass after it deploys.
 */
export interface DeliveryEnvironment {
  /** The GitHub environment, and the `stage` the AWS app is synthesized for. */
  readonly name: string;
  /**
   * Environments of one wave deploy in parallel (production in several regions); each wave waits
   * for the one before. @default its own wave, after the environment before it
   */
  readonly wave?: number;
  /** The role the job assumes (`GitHubDeployRole`), the region, and the stacks `cdk deploy` deploys. */
  readonly aws?: { readonly roleArn: string; readonly region: string; readonly stacks: readonly string[] };
  /** The identity the job logs in as (a user-assigned identity with a federated credential), and the stacks `cdktf deploy` deploys. */
  readonly azure?: {
    readonly clientId: string;
    readonly tenantId: string;
    readonly subscriptionId: string;
    readonly stacks: readonly string[];
    /** The stacks stage new versions in slots: after the deploy, `npm run azure-rollout` swaps and watches them. */
    readonly rollout?: boolean;
  };
  /**
   * The check after the AWS deploy, in each of `stacks` (each has a `SmokeCheck`, whose outputs give
   * the API and the role to call it with): one agent, one question, what its answer must match.
   */
  readonly smoke?: SmokeQuestion & { readonly stacks: readonly string[] };
}

export interface GitHubWorkflowOptions {
  readonly environments: readonly DeliveryEnvironment[];
  /** The branch whose pushes are delivered. @default 'main' */
  readonly branch?: string;
  /** @default '22' */
  readonly nodeVersion?: string;
}

const CHECKOUT = 'actions/checkout@v4';
const SETUP_NODE = 'actions/setup-node@v4';
const AWS_CREDENTIALS = 'aws-actions/configure-aws-credentials@v4';
const AZURE_LOGIN = 'azure/login@v2';
const SETUP_TERRAFORM = 'hashicorp/setup-terraform@v3';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The GitHub Actions workflow that delivers a push through the environments, in order: the checks
 * a fresh clone runs (`npm ci`, `npm test`, `npm run synth` with the rule packs), then one job per
 * environment in its GitHub environment (its reviewers approve before it starts), with credentials
 * from GitHub's OIDC tokens only (`id-token: write`, no stored keys): `cdk deploy` of its AWS stacks
 * and the smoke check against the API they output, `cdktf deploy` of its Azure stacks. One
 * delivery at a time; a failed environment stops the ones after it.
 */
export function githubWorkflow(options: GitHubWorkflowOptions): string {
  const problems = workflowProblems(options);
  if (problems.length) throw new Error(`githubWorkflow: ${problems.join('; ')}`);
  const node = options.nodeVersion ?? '22';
  const setup = [{ uses: CHECKOUT }, { uses: SETUP_NODE, with: { 'node-version': node, cache: 'npm' } }, { run: 'npm ci' }];
  const waves = [...new Set(options.environments.map(waveOf))].sort((a, b) => a - b);
  const jobs: Record<string, unknown> = {
    checks: { name: 'Tests and synth with the security rule packs', 'runs-on': 'ubuntu-latest', steps: [...setup, { run: 'npm test' }, { run: 'npm run synth' }] },
  };
  options.environments.forEach((env, i) => {
    const wave = waves.indexOf(waveOf(env, i));
    const before = wave === 0 ? ['checks'] : options.environments.filter((e, j) => waves.indexOf(waveOf(e, j)) === wave - 1).map((e) => jobId(e));
    const steps: unknown[] = [...setup];
    if (env.aws) {
      steps.push({ name: 'AWS credentials from the OIDC token', uses: AWS_CREDENTIALS, with: { 'role-to-assume': env.aws.roleArn, 'aws-region': env.aws.region } });
      // Regions side by side (the CLI still keeps the order stacks depend on); CloudFormation waits for each agent's traffic shift.
      steps.push({ name: `Deploy ${env.aws.stacks.join(', ')}`, run: `npx cdk deploy ${env.aws.stacks.join(' ')} -c stage=${env.name} --require-approval never --concurrency 4 --outputs-file cdk-outputs.json` });
      for (const stack of env.smoke?.stacks ?? []) {
        // The stack's SmokeCheck outputs: the API's URL and the role that may call the agent's route.
        const output = (key: string) => `$(node -p 'require("./cdk-outputs.json")[process.argv[1]][process.argv[2]]' ${shellQuote(stack)} ${key})`;
        steps.push({
          name: `Check agent ${env.smoke!.agent} answers in ${stack}`,
          run: [`export SMOKE_API_URL="${output(SMOKE_OUTPUTS.apiUrl)}"`, `export SMOKE_ROLE_ARN="${output(SMOKE_OUTPUTS.roleArn)}"`, ...smokeCommands(env.smoke!)].join('\n'),
        });
      }
    }
    if (env.azure) {
      steps.push({ name: 'Terraform for cdktf deploy', uses: SETUP_TERRAFORM, with: { terraform_wrapper: false } });
      const azureLogin = { name: 'Azure login from the OIDC token', uses: AZURE_LOGIN, with: { 'client-id': env.azure.clientId, 'tenant-id': env.azure.tenantId, 'subscription-id': env.azure.subscriptionId } };
      steps.push(azureLogin);
      const arm = { ARM_USE_OIDC: 'true', ARM_CLIENT_ID: env.azure.clientId, ARM_TENANT_ID: env.azure.tenantId, ARM_SUBSCRIPTION_ID: env.azure.subscriptionId };
      steps.push({ name: `Deploy ${env.azure.stacks.join(', ')}`, run: `npx cdktf deploy ${env.azure.stacks.join(' ')} --auto-approve${env.azure.rollout ? ' --outputs-file cdktf-outputs.json' : ''}`, env: arm });
      // Staged versions are swapped in one agent first, then in lanes, each watched and swapped back on its failure rates,
      // after a fresh login: the first one's GitHub token has expired by now, and the Azure CLI needs it for tokens of new scopes.
      if (env.azure.rollout) {
        steps.push(azureLogin);
        steps.push({ name: 'Swap in and watch the staged agents', run: 'npm run azure-rollout -- --outputs cdktf-outputs.json', env: arm });
      }
    }
    jobs[jobId(env)] = { name: `Deliver to ${env.name}`, needs: before, 'runs-on': 'ubuntu-latest', environment: env.name, permissions: { 'id-token': 'write', contents: 'read' }, steps };
  });
  const workflow = {
    name: 'Deliver agents',
    on: { push: { branches: [options.branch ?? 'main'] }, workflow_dispatch: {} },
    // Read-only unless a job says otherwise; one delivery at a time, never cancelled halfway.
    permissions: { contents: 'read' },
    concurrency: { group: 'deliver-agents', 'cancel-in-progress': false },
    jobs,
  };
  return `# Generated by serverless-agents (githubWorkflow); regenerate instead of editing.\n${stringify(workflow, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/** What is wrong with the environment list, as `field: problem` lines. */
export function workflowProblems(options: GitHubWorkflowOptions): string[] {
  const problems: string[] = [];
  if (!options.environments.length) problems.push('environments: name at least one');
  const seen = new Set<string>();
  options.environments.forEach((env, i) => {
    const at = `environments[${i}]`;
    if (!NAME.test(env.name)) problems.push(`${at}.name: "${env.name}" must be letters, digits, ".", "_" or "-"`);
    if (seen.has(env.name)) problems.push(`${at}.name: "${env.name}" is listed twice`);
    seen.add(env.name);
    if (!env.aws && !env.azure) problems.push(`${at}: deploys nothing (give it aws or azure)`);
    if (env.aws && !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(env.aws.roleArn) && !EXPRESSION.test(env.aws.roleArn)) problems.push(`${at}.aws.roleArn: "${env.aws.roleArn}" is not a role ARN or a \${{ vars.NAME }} expression`);
    for (const [cloud, stacks] of [['aws', env.aws?.stacks], ['azure', env.azure?.stacks]] as const) {
      if (stacks && (!stacks.length || stacks.some((s) => !NAME.test(s)))) problems.push(`${at}.${cloud}.stacks: name at least one stack, each letters, digits, ".", "_" or "-"`);
    }
    if (env.smoke && !env.aws) problems.push(`${at}.smoke: checks an AWS API; the environment deploys none`);
    if (env.smoke && env.aws && env.smoke.stacks.some((s) => !env.aws!.stacks.includes(s))) problems.push(`${at}.smoke.stacks: checks a stack the environment does not deploy`);
  });
  return problems;
}

const waveOf = (env: DeliveryEnvironment, index: number) => env.wave ?? index;
const jobId = (env: DeliveryEnvironment) => `deliver-${env.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** A GitHub Actions expression reading a variable or secret: what the job is told instead of a literal. */
const EXPRESSION = /^\$\{\{\s*(vars|secrets)\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$/;

/** The names of the GitHub environment variables a workflow from `deliveryEnvironments` reads. */
export const WORKFLOW_VARIABLES = {
  awsRoleArn: 'AWS_DEPLOY_ROLE_ARN',
  azureClientId: 'AZURE_CLIENT_ID',
  azureTenantId: 'AZURE_TENANT_ID',
  azureSubscriptionId: 'AZURE_SUBSCRIPTION_ID',
} as const;

/** What the app deploys per environment: the stack names for one AWS region and for one Azure environment. */
export interface DeliveredStacks {
  readonly aws: (target: AwsTarget) => readonly string[];
  readonly azure: (environment: string) => readonly string[];
}

/**
 * The workflow's environments from the environment list: one job per environment, in order, each
 * deploying every region of its AWS settings and its Azure stacks. Which identity a job uses is
 * read from its GitHub environment's variables (WORKFLOW_VARIABLES: the `GitHubDeployRole` ARN,
 * the `AzureGitHubDeployIdentity` client, tenant and subscription), so the file names no account.
 */
export function deliveryEnvironments(environments: DeploymentEnvironments, stacks: DeliveredStacks): DeliveryEnvironment[] {
  const variable = (name: string) => `\${{ vars.${name} }}`;
  return Object.entries(environments).map(([name, env]) => {
    const targets = awsTargets(environments, [name]);
    return {
      name,
      ...(targets.length && { aws: { roleArn: variable(WORKFLOW_VARIABLES.awsRoleArn), region: targets[0]!.region, stacks: targets.flatMap((t) => stacks.aws(t)) } }),
      ...(env.azure && {
        azure: {
          clientId: variable(WORKFLOW_VARIABLES.azureClientId),
          tenantId: variable(WORKFLOW_VARIABLES.azureTenantId),
          subscriptionId: env.azure.subscriptionId ?? variable(WORKFLOW_VARIABLES.azureSubscriptionId),
          stacks: stacks.azure(name),
          ...(isGradual(env.rollout) && { rollout: true }),
        },
      }),
      ...(env.smoke && targets.length && { smoke: { agent: env.smoke.agent, input: env.smoke.input, ...(env.smoke.expect && { expect: env.smoke.expect }), stacks: targets.map((t) => targetStackName(env.smoke!.stack, t)) } }),
    };
  });
}
