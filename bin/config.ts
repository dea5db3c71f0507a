import type { App } from 'aws-cdk-lib';
import { z } from 'zod';
import { formatIssues } from '../constructs/definition';
import { toolPolicySchema } from '../constructs/policy/tool-policy';
import { routerConfigSchema } from '../constructs/routing/config';

/**
 * The app's configuration, read from cdk.json context (or `-c` on the command line): where each
 * environment deploys and which models the aliases mean. Checked before anything is built.
 */
const environmentSchema = z.strictObject({
  /** @default the account of the CLI's credentials, or an environment-agnostic stack */
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region such as "eu-west-1"'),
});

const appConfigSchema = z.strictObject({
  environments: z.record(z.string().regex(/^[a-z][a-z0-9]*$/, 'must be a lowercase environment name'), environmentSchema).refine((e) => Object.keys(e).length > 0, 'must name at least one environment'),
  models: routerConfigSchema,
  /** Tool policies by cohort. */
  toolPolicies: z.record(z.string(), toolPolicySchema).default({}),
});

export type AppConfig = z.output<typeof appConfigSchema>;
export type EnvironmentConfig = z.output<typeof environmentSchema>;

export class AppConfigError extends Error {
  override name = 'AppConfigError';
}

/** The app's config, and the environments to synthesize: the `stage` context value, or all of them. */
export function readAppConfig(app: App): { config: AppConfig; stages: string[] } {
  const raw = { environments: app.node.tryGetContext('environments'), models: app.node.tryGetContext('models'), toolPolicies: app.node.tryGetContext('toolPolicies') };
  const parsed = appConfigSchema.safeParse(raw);
  if (!parsed.success) throw new AppConfigError(`cdk.json context: ${formatIssues(parsed.error.issues).join('; ')}`);
  const config = parsed.data;
  const stage: unknown = app.node.tryGetContext('stage');
  if (stage === undefined) return { config, stages: Object.keys(config.environments) };
  if (typeof stage !== 'string' || !(stage in config.environments)) {
    throw new AppConfigError(`stage "${String(stage)}" is not an environment in cdk.json (known: ${Object.keys(config.environments).join(', ')})`);
  }
  return { config, stages: [stage] };
}
