import { z } from 'zod';
import { formatIssues } from '../contract/definition';
import { toolPolicySchema } from '../contract/policy/tool-policy';
import { routerConfigSchema } from '../contract/routing/config';

/**
 * The apps' configuration, read from context: cdk.json for AWS, cdktf.json for Azure (or `-c` on
 * the command line). Where each environment deploys and which models the aliases mean, checked
 * before anything is built.
 */
const environmentName = z.string().regex(/^[a-z][a-z0-9]*$/, 'must be a lowercase environment name');

export const awsEnvironmentSchema = z.strictObject({
  /** @default the account of the CLI's credentials, or an environment-agnostic stack */
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region such as "eu-west-1"'),
});

export const azureEnvironmentSchema = z.strictObject({
  location: z.string().regex(/^[a-z]+[a-z0-9]*$/, 'must be an Azure region name such as "westeurope"'),
  /** @default the subscription of the Azure CLI's login, or ARM_SUBSCRIPTION_ID */
  subscriptionId: z.uuid({ error: 'must be a subscription id (a GUID)' }).optional(),
});

const appConfigSchema = <E extends z.ZodType>(environment: E) =>
  z.strictObject({
    environments: z.record(environmentName, environment).refine((e) => Object.keys(e).length > 0, 'must name at least one environment'),
    models: routerConfigSchema,
    /** Tool policies by cohort. */
    toolPolicies: z.record(z.string(), toolPolicySchema).default({}),
  });

export type AppConfig<E = AwsEnvironmentConfig> = Omit<z.output<ReturnType<typeof appConfigSchema>>, 'environments'> & { environments: Record<string, E> };
export type AwsEnvironmentConfig = z.output<typeof awsEnvironmentSchema>;
export type AzureEnvironmentConfig = z.output<typeof azureEnvironmentSchema>;

export class AppConfigError extends Error {
  override name = 'AppConfigError';
}

/** Anything with construct context: a CDK App or a CDK for Terraform App. */
interface WithContext {
  readonly node: { tryGetContext(key: string): unknown };
}

/** The app's config, and the environments to synthesize: the `stage` context value, or all of them. */
export function readAppConfig(app: WithContext): { config: AppConfig; stages: string[] } {
  return readConfig(app, awsEnvironmentSchema, 'cdk.json');
}

export function readAzureAppConfig(app: WithContext): { config: AppConfig<AzureEnvironmentConfig>; stages: string[] } {
  return readConfig(app, azureEnvironmentSchema, 'cdktf.json');
}

function readConfig<E extends z.ZodType>(app: WithContext, environment: E, file: string): { config: AppConfig<z.output<E>>; stages: string[] } {
  const raw = { environments: app.node.tryGetContext('environments'), models: app.node.tryGetContext('models'), toolPolicies: app.node.tryGetContext('toolPolicies') };
  const parsed = appConfigSchema(environment).safeParse(raw);
  if (!parsed.success) throw new AppConfigError(`${file} context: ${formatIssues(parsed.error.issues).join('; ')}`);
  const config = parsed.data as AppConfig<z.output<E>>;
  const stage: unknown = app.node.tryGetContext('stage');
  if (stage === undefined) return { config, stages: Object.keys(config.environments) };
  if (typeof stage !== 'string' || !(stage in config.environments)) {
    throw new AppConfigError(`stage "${String(stage)}" is not an environment in ${file} (known: ${Object.keys(config.environments).join(', ')})`);
  }
  return { config, stages: [stage] };
}
