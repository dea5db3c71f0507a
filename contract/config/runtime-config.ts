import { gunzipSync, gzipSync } from 'node:zlib';
import type { z } from 'zod';
import type { ToolPolicy } from '../policy/tool-policy';
import type { priceSchema } from '../routing/config';
import type { AgentDefinition } from '../definition/define';

/**
 * Which concrete model a run calls, in the order the router tries them. Cloud-neutral: a secret is
 * named, and the runtime reads it from the cloud's secret store with the function's identity.
 */
export type ModelTargetConfig = (
  | { readonly provider: 'bedrock'; readonly model: string }
  | { readonly provider: 'anthropic'; readonly model: string; readonly apiKeySecret: string }
  | { readonly provider: 'openai-compatible'; readonly model: string; readonly baseUrl: string; readonly apiKeySecret?: string }
) & {
  /** How long one call may take before the router moves on. @default 60, and never past the run's deadline */
  readonly timeoutSeconds?: number;
  /**
   * The cloud whose bill the target's spend lands on (Bedrock: AWS; Azure OpenAI: Azure). Spend
   * on a target the hosting cloud does not bill is also counted as `ExternalCostUsd`.
   * @default neither: a provider's own bill
   */
  readonly billedBy?: Cloud;
};

/** The clouds agents run on. */
export type Cloud = 'aws' | 'azure';

/** Everything the runtime needs about its agent that is known at synth, in one document. */
export interface AgentRuntimeConfig {
  readonly definition: AgentDefinition;
  /** Ordered model targets for the agent's model under its cohort's policy. */
  readonly route: readonly ModelTargetConfig[];
  /** USD per million tokens for the route's models; a model without a price costs nothing. */
  readonly prices?: Readonly<Record<string, ModelPrice>>;
  /** What the agent's cohort may do with its tools. Omitted: everything the definition lists. */
  readonly toolPolicy?: ToolPolicy;
  /** The agents of its team that may send it tasks (call it, give it jobs, hand off to it). Omitted: none. */
  readonly callers?: readonly string[];
}

/** USD per million tokens of each kind, for one model: the router config's price entry. */
export type ModelPrice = z.output<typeof priceSchema>;

/** The environment variable that carries the encoded runtime config. */
export const AGENT_CONFIG_ENV = 'AGENT_CONFIG';

/**
 * Compresses the config for an environment variable: prompts compress well, and Lambda allows
 * 4 KB for all variables together.
 */
export function encodeAgentConfig(config: AgentRuntimeConfig): string {
  return gzipSync(JSON.stringify(config), { level: 9 }).toString('base64');
}

export function decodeAgentConfig(encoded: string): AgentRuntimeConfig {
  return JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8')) as AgentRuntimeConfig;
}
