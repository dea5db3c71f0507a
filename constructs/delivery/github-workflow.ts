import { stringify } from 'yaml';

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
  readonly azure?: { readonly clientId: string; readonly tenantId: string; readonly subscriptionId: string; readonly stacks: readonly string[] };
  /** The check after the AWS deploy (`npm run smoke`): one agent, one question, what its answer must match. */
  readonly smoke?: { readonly agent: string; readonly input: string; readonly expect?: string };
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
      steps.push({ name: `Deploy ${env.aws.stacks.join(', ')}`, run: `npx cdk deploy ${env.aws.stacks.join(' ')} -c stage=${env.name} --require-approval never --outputs-file cdk-outputs.json` });
      if (env.smoke) {
        steps.push({
          name: `Check agent ${env.smoke.agent} answers`,
          run: [
            // The API's URL is the stack output RestApi writes (its id ends in "Endpoint").
            `SMOKE_API_URL="$(node -e 'const o=require("./cdk-outputs.json");for(const s of Object.values(o))for(const[k,v]of Object.entries(s))if(/Endpoint/.test(k)){console.log(v);process.exit(0)}process.exit(1)')"`,
            `export SMOKE_API_URL`,
            `npm run smoke -- --agent ${shellQuote(env.smoke.agent)} --input ${shellQuote(env.smoke.input)}${env.smoke.expect ? ` --expect ${shellQuote(env.smoke.expect)}` : ''}`,
          ].join('\n'),
        });
      }
    }
    if (env.azure) {
      steps.push({ name: 'Azure login from the OIDC token', uses: AZURE_LOGIN, with: { 'client-id': env.azure.clientId, 'tenant-id': env.azure.tenantId, 'subscription-id': env.azure.subscriptionId } });
      steps.push({ name: `Deploy ${env.azure.stacks.join(', ')}`, run: `npx cdktf deploy ${env.azure.stacks.join(' ')} --auto-approve`, env: { ARM_USE_OIDC: 'true', ARM_CLIENT_ID: env.azure.clientId, ARM_TENANT_ID: env.azure.tenantId, ARM_SUBSCRIPTION_ID: env.azure.subscriptionId } });
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
  return `# Generated by serverless-agents (githubWorkflow); regenerate instead of editing.\n${stringify(workflow, { lineWidth: 0 })}`;
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
    if (env.aws && !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(env.aws.roleArn)) problems.push(`${at}.aws.roleArn: "${env.aws.roleArn}" is not a role ARN`);
    for (const [cloud, stacks] of [['aws', env.aws?.stacks], ['azure', env.azure?.stacks]] as const) {
      if (stacks && (!stacks.length || stacks.some((s) => !NAME.test(s)))) problems.push(`${at}.${cloud}.stacks: name at least one stack, each letters, digits, ".", "_" or "-"`);
    }
    if (env.smoke && !env.aws) problems.push(`${at}.smoke: checks an AWS API; the environment deploys none`);
  });
  return problems;
}

const waveOf = (env: DeliveryEnvironment, index: number) => env.wave ?? index;
const jobId = (env: DeliveryEnvironment) => `deliver-${env.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
