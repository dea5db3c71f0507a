import type { Usage } from '../models/types';

import type { ModelPrice } from '../../../contract/config/runtime-config';

export type { ModelPrice };

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** The cost of one call, or undefined when the table has no price for the model. */
export function costUsd(prices: PriceTable, model: string, usage: Usage): number | undefined {
  const price = prices[model];
  if (!price) return undefined;
  return (
    (usage.inputTokens * price.inputPerMTok +
      usage.outputTokens * price.outputPerMTok +
      usage.cacheReadTokens * (price.cacheReadPerMTok ?? price.inputPerMTok) +
      usage.cacheWriteTokens * (price.cacheWritePerMTok ?? price.inputPerMTok)) /
    1_000_000
  );
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
}

/** Every token a call consumed, as the token budget counts them. */
export const totalTokens = (u: Usage) => u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens;
