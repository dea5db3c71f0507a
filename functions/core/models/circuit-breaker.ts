/**
 * A circuit breaker per model target, kept for the life of the process so that warm invocations
 * share what earlier ones learned: after `failureThreshold` consecutive failures the target is
 * skipped for `openMs`; then one trial call decides whether it closes again.
 */
export interface BreakerOptions {
  readonly failureThreshold: number;
  readonly openMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 5, openMs: 30_000 };

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(
    private readonly options: BreakerOptions = DEFAULT_BREAKER,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.options.openMs ? 'half-open' : 'open';
  }

  /** Whether a call may go through now; in half-open, only one trial at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures += 1;
    if (this.state === 'half-open' || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
    }
  }
}

const breakers = new Map<string, CircuitBreaker>();

/** The process-wide breaker for one target. */
export function breakerFor(key: string, options?: BreakerOptions, now?: () => number): CircuitBreaker {
  let breaker = breakers.get(key);
  if (!breaker) {
    breaker = new CircuitBreaker(options, now);
    breakers.set(key, breaker);
  }
  return breaker;
}

/** Forgets every breaker (tests). */
export function resetBreakers(): void {
  breakers.clear();
}
