import { ModelError } from './types';

/** How a target is retried before the router falls back to the next one. */
export interface RetryPolicy {
  /** Attempts on one target, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 8_000 };

/**
 * Exponential backoff with full jitter (a random wait up to the exponential cap), so that many
 * runs throttled together don't retry together. A server's retry-after wins when it is longer.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, error: unknown, random = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.floor(random() * cap);
  const retryAfter = error instanceof ModelError ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, Math.min(retryAfter, policy.maxDelayMs * 4));
}

/** Classifies anything a provider threw: unknown errors are treated as lost connections. */
export function asModelError(error: unknown): ModelError {
  if (error instanceof ModelError) return error;
  if (error instanceof Error && error.name === 'AbortError') return new ModelError('network', 'the request was aborted');
  return new ModelError('network', error instanceof Error ? error.message : String(error));
}
