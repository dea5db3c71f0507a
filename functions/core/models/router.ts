import type { ModelTargetConfig } from '../../../contract/config/runtime-config';
import { breakerFor, type BreakerOptions, DEFAULT_BREAKER } from './circuit-breaker';
import { asModelError, backoffMs, DEFAULT_RETRY, type RetryPolicy } from './retry';
import type { ModelProvider, ModelRequest, ModelResponse } from './types';
import { ModelError } from './types';

/** One call to one target, as the audit record shows it. */
export interface Attempt {
  readonly provider: string;
  readonly model: string;
  readonly attempt: number;
  readonly outcome: 'ok' | 'error' | 'skipped-open-circuit';
  readonly errorKind?: string;
  readonly status?: number;
  readonly message?: string;
  readonly durationMs: number;
  /** Time waited before this attempt (backoff). */
  readonly waitedMs: number;
}

export interface RoutedResponse extends ModelResponse {
  readonly provider: string;
  readonly model: string;
  readonly attempts: readonly Attempt[];
}

/** Builds the provider for a target on first use; the router never imports an SDK itself. */
export type ProviderFactory = (target: ModelTargetConfig) => Promise<ModelProvider>;

/** How long one call to a target may take unless the target says otherwise. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 60_000;

export interface RouterOptions {
  readonly retry?: RetryPolicy;
  /** @default DEFAULT_ATTEMPT_TIMEOUT_MS */
  readonly attemptTimeoutMs?: number;
  readonly breaker?: BreakerOptions;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Every target failed or was skipped; the attempts say why. */
export class AllTargetsFailedError extends Error {
  constructor(readonly attempts: readonly Attempt[]) {
    super(`every model target failed: ${attempts.map((a) => `${a.provider}/${a.model}#${a.attempt} ${a.outcome}${a.errorKind ? ` (${a.errorKind})` : ''}`).join(', ')}`);
    this.name = 'AllTargetsFailedError';
  }
}

/** When the call must end: the run's signal, and its deadline (epoch ms) that caps each attempt. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly deadline?: number;
}

/**
 * Calls the agent's model targets in order: retries a target on throttling, overload, 5xx and lost
 * connections with backoff and full jitter, skips a target whose circuit is open, and falls back to
 * the next target when one gives up. Each attempt has a timeout (the target's, or 60 s, and never
 * past the run's deadline); a target that timed out is not tried again in the same call when
 * another target remains, since a hung endpoint usually stays hung. A client error (a bad request)
 * is not retried anywhere: the next target would get the same request.
 */
export class ModelRouter {
  private readonly providers = new Map<number, Promise<ModelProvider>>();
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;

  constructor(
    readonly targets: readonly ModelTargetConfig[],
    private readonly factory: ProviderFactory,
    private readonly options: RouterOptions = {},
  ) {
    if (targets.length === 0) throw new Error('a model route needs at least one target');
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.sleep = options.sleep ?? sleep;
    this.now = options.now ?? Date.now;
  }

  async complete(request: ModelRequest, call: CallOptions = {}): Promise<RoutedResponse> {
    const { signal } = call;
    const attempts: Attempt[] = [];
    for (const [index, target] of this.targets.entries()) {
      const breaker = breakerFor(`${target.provider}:${target.model}`, this.options.breaker ?? DEFAULT_BREAKER, this.now);
      const last = index === this.targets.length - 1;
      let waited = 0;
      for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
        if (!breaker.tryAcquire()) {
          attempts.push({ provider: target.provider, model: target.model, attempt, outcome: 'skipped-open-circuit', durationMs: 0, waitedMs: 0 });
          break;
        }
        const started = this.now();
        const limit = Math.max(0, Math.floor(Math.min(target.timeoutSeconds !== undefined ? target.timeoutSeconds * 1000 : (this.options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS), (call.deadline ?? Infinity) - started)));
        const timer = AbortSignal.timeout(limit);
        const attemptSignal = signal ? AbortSignal.any([signal, timer]) : timer;
        try {
          const provider = await this.provider(index, target);
          const response = await untilAborted(provider.complete(request, attemptSignal), attemptSignal);
          breaker.success();
          attempts.push({ provider: target.provider, model: target.model, attempt, outcome: 'ok', durationMs: this.now() - started, waitedMs: waited });
          return { ...response, provider: target.provider, model: target.model, attempts };
        } catch (e) {
          const timedOut = timer.aborted && !signal?.aborted;
          const error = timedOut ? new ModelError('timeout', `no answer within ${(limit / 1000).toFixed(1)} s`) : asModelError(e);
          // A refused request says nothing about the target's health; only failures a retry may fix count.
          if (error.retryable) breaker.failure();
          else breaker.success();
          attempts.push({
            provider: target.provider,
            model: target.model,
            attempt,
            outcome: 'error',
            errorKind: error.kind,
            ...(error.status !== undefined && { status: error.status }),
            message: error.message,
            durationMs: this.now() - started,
            waitedMs: waited,
          });
          if (!error.retryable) throw new ModelCallError(error, attempts);
          if (signal?.aborted) throw new ModelCallError(error, attempts);
          if (timedOut && !last) break;
          if (attempt < this.retry.maxAttempts) {
            waited = backoffMs(this.retry, attempt, error, this.options.random);
            await this.sleep(waited, signal);
          }
        }
      }
    }
    throw new AllTargetsFailedError(attempts);
  }

  private provider(index: number, target: ModelTargetConfig): Promise<ModelProvider> {
    let provider = this.providers.get(index);
    if (!provider) {
      provider = this.factory(target);
      this.providers.set(index, provider);
      provider.catch(() => this.providers.delete(index));
    }
    return provider;
  }
}

/** A call that failed for a reason no retry or fallback can fix, with the attempts made. */
export class ModelCallError extends Error {
  constructor(
    readonly modelError: ModelError,
    readonly attempts: readonly Attempt[],
  ) {
    super(`model call failed: ${modelError.message}`);
    this.name = 'ModelCallError';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** Settles when `work` does, or rejects when `signal` aborts: a provider that ignores the signal still lets go. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => (signal.removeEventListener('abort', abort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', abort), reject(error)),
    );
  });
}
