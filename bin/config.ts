import { join } from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../contract/definition';
import { toolPolicySchema } from '../contract/policy/tool-policy';
import { routerConfigSchema } from '../contract/routing/config';
import { parseEnvironments, readEnvironments, type DeploymentEnvironments } from '../contract/delivery/environments';

/**
 * The apps' configuration: the environments from `environments.json` (the one list the AWS app,
 * the Azure app, the pipeline and the GitHub workflow read; `-c environments=...` overrides it),
 * and from context (cdk.json for AWS, cdktf.json for Azure, or `-c`) which models the aliases mean
 * and the tool policies, checked before anything is built.
 */
export const ENVIRONMENTS_FILE = join(__dirname, '..', 'environments.json');

const appConfigSchema = z.strictObject({
  models: routerConfigSchema,
  /** Tool policies by cohort. */
  toolPolicies: z.record(z.string(), toolPolicySchema).default({}),
});

export type AppConfig = z.output<typeof appConfigSchema> & { environments: DeploymentEnvironments };

export class AppConfigError extends Error {
  override name = 'AppConfigError';
}

/** Anything with construct context: a CDK App or a CDK for Terraform App. */
interface WithContext {
  readonly node: { tryGetContext(key: string): unknown };
}

/** The app's config, and the environments to synthesize: the `stage` context value, or all of them. */
export function readAppConfig(app: WithContext): { config: AppConfig; stages: string[] } {
  return readConfig(app, 'aws', 'cdk.json');
}

export function readAzureAppConfig(app: WithContext): { config: AppConfig; stages: string[] } {
  return readConfig(app, 'azure', 'cdktf.json');
}

/** The environment list: `-c environments=...` when given, environments.json otherwise. */
export function readEnvironmentList(app?: WithContext): DeploymentEnvironments {
  const given = app?.node.tryGetContext('environments');
  if (given === undefined) return readEnvironments(ENVIRONMENTS_FILE);
  try {
    return parseEnvironments(typeof given === 'string' ? JSON.parse(given) : given, 'the environments context');
  } catch (e) {
    throw new AppConfigError((e as Error).message);
  }
}

function readConfig(app: WithContext, cloud: 'aws' | 'azure', file: string): { config: AppConfig; stages: string[] } {
  const raw = { models: app.node.tryGetContext('models'), toolPolicies: app.node.tryGetContext('toolPolicies') };
  const parsed = appConfigSchema.safeParse(raw);
  if (!parsed.success) throw new AppConfigError(`${file} context: ${formatIssues(parsed.error.issues).join('; ')}`);
  const environments = readEnvironmentList(app);
  const config = { ...parsed.data, environments };
  // The environments this cloud deploys to; one without this cloud's settings has nothing here.
  const known = Object.keys(environments).filter((name) => environments[name]![cloud]);
  const stage: unknown = app.node.tryGetContext('stage');
  if (stage === undefined) return { config, stages: known };
  if (typeof stage !== 'string' || !known.includes(stage)) {
    throw new AppConfigError(`stage "${String(stage)}" is not an environment with ${cloud} settings in environments.json (known: ${known.join(', ') || 'none'})`);
  }
  return { config, stages: [stage] };
}
