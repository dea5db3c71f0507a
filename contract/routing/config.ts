import { z } from 'zod';
import { AgentDefinitionError, formatIssues, type AgentDefinition } from '../definition/define';
import type { ModelTargetConfig } from '../config/runtime-config';

/**
 * Model routing as configuration: aliases map to ordered targets, with a default policy and
 * per-cohort overrides. Changing a model is an edit here, never a code change. Both clouds read
 * this shape; each accepts the providers it can reach.
 */

const secretName = z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, 'must be a secret name');

/**
 * How long one call to the target may take before it counts as failed and the router moves on
 * (never past the run's own deadline).
 */
const timeoutSeconds = z.number().int().min(1).max(900).optional();

export const modelTargetSchema = z.discriminatedUnion('provider', [
  z.strictObject({ provider: z.literal('bedrock'), model: z.string().min(1), timeoutSeconds }),
  z.strictObject({
    provider: z.literal('bedrock-inference-profile'),
    timeoutSeconds,
    /** The profile id, such as `us.anthropic.claude-sonnet-4-5-20250929-v1:0`. */
    profile: z.string().regex(/^[a-z]+\.[^.].*$/, 'must be a geography-prefixed profile id such as "us.anthropic.…"'),
    /** The regions the profile routes to: invoke is granted on the model in these only. */
    regions: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region such as "us-east-1"')).min(1),
  }),
  z.strictObject({ provider: z.literal('anthropic'), model: z.string().min(1), apiKeySecret: secretName, timeoutSeconds }),
  z.strictObject({
    provider: z.literal('openai-compatible'),
    timeoutSeconds,
    model: z.string().min(1),
    baseUrl: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
    apiKeySecret: secretName.optional(),
  }),
  z.strictObject({
    provider: z.literal('azure-openai'),
    timeoutSeconds,
    /** The Azure OpenAI (or AI Foundry) resource name: the `NAME` of `NAME.openai.azure.com`. */
    resource: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/, 'must be an Azure OpenAI resource name'),
    /** The deployment the requests go to; Azure's v1 API takes it where OpenAI takes a model id. */
    deployment: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/, 'must be a deployment name'),
    apiKeySecret: secretName,
  }),
]);

const aliasName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lowercase letters, digits and hyphens');
const policySchema = z.record(aliasName, z.array(modelTargetSchema).min(1, 'needs at least one target'));

export const priceSchema = z.strictObject({
  inputPerMTok: z.number().nonnegative(),
  outputPerMTok: z.number().nonnegative(),
  cacheReadPerMTok: z.number().nonnegative().optional(),
  cacheWritePerMTok: z.number().nonnegative().optional(),
});

export const routerConfigSchema = z.strictObject({
  /** The default policy: alias to ordered targets, the first tried first. */
  aliases: policySchema,
  /** Per-cohort overrides of some aliases; other aliases fall back to the default policy. */
  cohorts: z.record(z.string().regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, 'must be a cohort name'), policySchema).default({}),
  /** Credentials for agents that name a provider and model directly instead of an alias. */
  providers: z
    .strictObject({
      anthropic: z.strictObject({ apiKeySecret: secretName }).optional(),
      'openai-compatible': z
        .strictObject({ baseUrl: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }), apiKeySecret: secretName.optional() })
        .optional(),
    })
    .default({}),
  /** USD per million tokens, by model id: what runs cost and what the budget limit counts. */
  prices: z.record(z.string().min(1), priceSchema).default({}),
});

export type ModelTargetSpec = z.output<typeof modelTargetSchema>;
export type RouterConfig = z.input<typeof routerConfigSchema>;
export type RouterPolicy = z.output<typeof routerConfigSchema>;

/** Router configuration that fails validation; the message names each field path. */
export class RouterConfigError extends Error {
  constructor(
    readonly where: string,
    readonly problems: readonly string[],
  ) {
    super(`${where}: ${problems.join('; ')}`);
    this.name = 'RouterConfigError';
  }
}

export function parseRouterConfig(config: unknown, where = 'model router'): RouterPolicy {
  const parsed = routerConfigSchema.safeParse(config);
  if (!parsed.success) throw new RouterConfigError(where, formatIssues(parsed.error.issues));
  return parsed.data;
}

/** The aliases an agent of `cohort` can name: its overrides over the default policy. */
export function targetsFor(policy: RouterPolicy, alias: string, cohort: string): readonly ModelTargetSpec[] | undefined {
  return policy.cohorts[cohort]?.[alias] ?? policy.aliases[alias];
}

export function aliasesFor(policy: RouterPolicy, cohort: string): string[] {
  return [...new Set([...Object.keys(policy.aliases), ...Object.keys(policy.cohorts[cohort] ?? {})])].sort();
}

/**
 * The ordered targets an agent's `model` resolves to under its cohort's policy. An unknown alias,
 * or a direct provider reference the router holds no credentials for, names the agent and field.
 */
export function resolveModel(policy: RouterPolicy | undefined, agent: AgentDefinition): readonly ModelTargetSpec[] {
  const { model, cohort } = agent;
  if (typeof model === 'string') {
    if (!policy) throw new AgentDefinitionError(agent.name, [`model: alias "${model}" needs a model router, and none was given`]);
    const targets = targetsFor(policy, model, cohort);
    if (!targets) {
      throw new AgentDefinitionError(agent.name, [
        `model: alias "${model}" is not defined for cohort "${cohort}" (known aliases: ${aliasesFor(policy, cohort).join(', ') || 'none'})`,
      ]);
    }
    return targets;
  }
  switch (model.provider) {
    case 'bedrock':
      return [{ provider: 'bedrock', model: model.model }];
    case 'anthropic': {
      const creds = policy?.providers.anthropic;
      if (!creds) throw new AgentDefinitionError(agent.name, ['model: provider "anthropic" needs providers.anthropic.apiKeySecret in the model router']);
      return [{ provider: 'anthropic', model: model.model, apiKeySecret: creds.apiKeySecret }];
    }
    case 'openai-compatible': {
      const creds = policy?.providers['openai-compatible'];
      if (!creds) throw new AgentDefinitionError(agent.name, ['model: provider "openai-compatible" needs providers["openai-compatible"].baseUrl in the model router']);
      return [{ provider: 'openai-compatible', model: model.model, ...creds }];
    }
  }
}

/**
 * A target as the runtime reads it. An Azure OpenAI deployment is an OpenAI-compatible endpoint:
 * the v1 API (`/openai/v1`) takes the resource key as a bearer token and the deployment as the
 * model, so the runtime needs no Azure-specific provider.
 */
export function toRuntimeTarget(target: ModelTargetSpec): ModelTargetConfig {
  const timeout = target.timeoutSeconds !== undefined ? { timeoutSeconds: target.timeoutSeconds } : {};
  switch (target.provider) {
    case 'bedrock':
      return { provider: 'bedrock', model: target.model, billedBy: 'aws', ...timeout };
    case 'bedrock-inference-profile':
      return { provider: 'bedrock', model: target.profile, billedBy: 'aws', ...timeout };
    case 'anthropic':
      return { provider: 'anthropic', model: target.model, apiKeySecret: target.apiKeySecret, ...timeout };
    case 'openai-compatible':
      return { provider: 'openai-compatible', model: target.model, baseUrl: target.baseUrl, ...(target.apiKeySecret && { apiKeySecret: target.apiKeySecret }), ...timeout };
    case 'azure-openai':
      return { provider: 'openai-compatible', model: target.deployment, baseUrl: `https://${target.resource}.openai.azure.com/openai/v1`, apiKeySecret: target.apiKeySecret, billedBy: 'azure', ...timeout };
  }
}

/** The prices of the models a route names; a model the table lacks is left out (and costs nothing). */
export function pricesFor(policy: RouterPolicy | undefined, models: readonly string[]): RouterPolicy['prices'] {
  return Object.fromEntries(models.flatMap((m) => (policy?.prices[m] ? [[m, policy.prices[m]]] : [])));
}
