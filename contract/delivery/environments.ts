import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { formatIssues } from '../definition/define';
import { rolloutSchema, type Rollout } from './rollout';

/**
 * The one list of environments a change is promoted through, in order (`environments.json`): where
 * each deploys on each cloud, whether a person approves it first, how its agents take a new
 * version, and the check that must pass after it deploys. The AWS and Azure apps, the pipeline and
 * the GitHub workflow all read it, so they cannot disagree about what "prod" is.
 */
/** Lowercase, so it can name Azure stacks and resource groups as well as AWS stacks and GitHub environments. */
const ENVIRONMENT_NAME = /^[a-z][a-z0-9]*$/;
const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region such as "eu-west-1"');

export const environmentSchema = z
  .strictObject({
    /** A person approves the change before it reaches this environment. @default false */
    approval: z.boolean().default(false),
    /** How the agents of this environment take a new version. @default each deploy replaces code at once */
    rollout: rolloutSchema.optional(),
    aws: z
      .strictObject({
        /** @default the account of the CLI's credentials, or an environment-agnostic stack */
        account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
        /**
         * The account whose deploying role (a GitHub workflow's `GitHubDeployRole`) runs the check
         * after a deploy: the stack's smoke-check role trusts it.
         * @default the environment's own account
         */
        deliveryAccount: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
        /**
         * The regions the environment's stacks deploy to, side by side. The first is its home: its
         * stacks are named after the environment alone (`SupportAgent-prod`), the others after the
         * environment and the region (`SupportAgent-prod-us-east-1`), so adding a region renames nothing.
         */
        regions: z
          .array(awsRegion)
          .min(1, 'name at least one region')
          .refine((r) => new Set(r).size === r.length, 'names a region twice'),
      })
      .optional(),
    azure: z
      .strictObject({
        location: z.string().regex(/^[a-z]+[a-z0-9]*$/, 'must be an Azure region name such as "westeurope"'),
        /** @default the subscription of the Azure CLI's login, or ARM_SUBSCRIPTION_ID */
        subscriptionId: z.uuid({ error: 'must be a subscription id (a GUID)' }).optional(),
      })
      .optional(),
    /**
     * Each cohort's monthly budget in USD for this environment: AWS Budgets on the `cohort` cost
     * allocation tag (in its home region's stacks, as budgets cover the account) and Azure
     * consumption budgets on the `cohort` tag. @default none
     */
    budgets: z.record(z.string().regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, 'must be a cohort name'), z.number().min(1, 'must be at least 1 (USD a month; Azure budgets start at 1)')).optional(),
    /**
     * After the environment deploys, one agent is asked one question through its API with signed
     * requests, and its answer must match `expect` (a regular expression): `stack` is the base name
     * of the stack whose API serves it (`SupportAgent`).
     */
    smoke: z
      .strictObject({
        stack: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'must be a stack base name such as "SupportAgent"'),
        agent: z.string().min(1),
        input: z.string().min(1),
        expect: z.string().optional(),
      })
      .optional(),
  })
  .refine((e) => e.aws || e.azure, 'deploys nothing: give it aws, azure or both');

export const environmentsSchema = z.record(z.string(), environmentSchema).superRefine((envs, ctx) => {
  if (!Object.keys(envs).length) ctx.addIssue({ code: 'custom', message: 'name at least one environment' });
  for (const name of Object.keys(envs)) if (!ENVIRONMENT_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'must be a lowercase environment name (letters and digits)' });
});

export type DeploymentEnvironmentInput = z.input<typeof environmentSchema>;
export type DeploymentEnvironment = z.output<typeof environmentSchema>;
/** Environment names to settings, in promotion order. */
export type DeploymentEnvironments = Readonly<Record<string, DeploymentEnvironment>>;

export class EnvironmentsError extends Error {
  override name = 'EnvironmentsError';
}

/** The list, checked; `source` names where it came from in the error. */
export function parseEnvironments(input: unknown, source: string): DeploymentEnvironments {
  const parsed = environmentsSchema.safeParse(input);
  if (!parsed.success) throw new EnvironmentsError(`${source}: ${formatIssues(parsed.error.issues.map((i) => ({ ...i, path: ['environments', ...i.path] }))).join('; ')}`);
  return parsed.data;
}

/** Reads and checks an environments file (`environments.json`). */
export function readEnvironments(path: string): DeploymentEnvironments {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new EnvironmentsError(`${path}: ${(e as Error).message}`);
  }
  return parseEnvironments(raw, path);
}

/** One AWS region of an environment: what one set of stacks deploys to. */
export interface AwsTarget {
  /** The environment's name. */
  readonly environment: string;
  /** What its stacks are named after: the environment at home, `<environment>-<region>` elsewhere. */
  readonly id: string;
  readonly account?: string;
  /** Whose deploying role runs the post-deploy check, when not the target's own account. */
  readonly deliveryAccount?: string;
  readonly region: string;
  readonly rollout?: Rollout;
  /** Whether this is the environment's first region, where account-wide parts (budgets) live. */
  readonly home: boolean;
  /** Each cohort's monthly budget in USD. */
  readonly budgets?: Readonly<Record<string, number>>;
}

/** The name of a stack in one AWS region of an environment: `SupportAgent-prod`, `SupportAgent-prod-eu-west-3`. */
export const targetStackName = (base: string, target: AwsTarget) => `${base}-${target.id}`;

/** Every AWS region of `names` (all environments by default), in promotion order, home region first. */
export function awsTargets(environments: DeploymentEnvironments, names: readonly string[] = Object.keys(environments)): AwsTarget[] {
  return names.flatMap((environment) => {
    const env = environments[environment]!;
    return (env.aws?.regions ?? []).map((region, i) => ({
      environment,
      id: i === 0 ? environment : `${environment}-${region}`,
      region,
      home: i === 0,
      ...(env.budgets && { budgets: env.budgets }),
      ...(env.aws!.account && { account: env.aws!.account }),
      ...(env.aws!.deliveryAccount && { deliveryAccount: env.aws!.deliveryAccount }),
      ...(env.rollout && { rollout: env.rollout }),
    }));
  });
}
