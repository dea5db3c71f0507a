/**
 * A circuit breaker per model target, kept for the life of the process so that warm invocations
 * share what earlier ones learned. It opens on the failure rate of the target's last calls, not on
 * a run of failures: many runs share one breaker, and under a steady share of throttles and 5xx
 * (a third of calls, say) a few failures in a row happen all the time without the target being
 * down; an outage fails nearly every call. Open, the target is skipped for `openMs`; then one trial
 * call decides whether it closes again.
 */
export interface BreakerOptions {
  /** How many of the target's latest calls the rate is taken over. */
  readonly window: number;
  /** Calls the window must hold before the rate counts, so a handful of early failures is not an outage. */
  readonly minimumCalls: number;
  /** The share of failed calls in the window (0-1) that opens the breaker. */
  readonly failureRate: number;
  readonly openMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { window: 20, minimumCalls: 10, failureRate: 0.8, openMs: 30_000 };

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  /** The latest outcomes, oldest first: true for a failure. */
  private readonly outcomes: boolean[] = [];
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
    if (this.openedAt !== undefined) {
      // The trial passed: the target is back, and what it did before says nothing now.
      this.outcomes.length = 0;
      this.failures = 0;
      this.openedAt = undefined;
      this.trialInFlight = false;
      return;
    }
    this.record(false);
  }

  failure(): void {
    if (this.openedAt !== undefined) {
      // A failed trial (or a call that started before the breaker opened): open for another while.
      this.trialInFlight = false;
      this.openedAt = this.now();
      return;
    }
    this.record(true);
    if (this.outcomes.length >= this.options.minimumCalls && this.failures / this.outcomes.length >= this.options.failureRate) this.openedAt = this.now();
  }

  private record(failed: boolean): void {
    this.outcomes.push(failed);
    if (failed) this.failures++;
    if (this.outcomes.length > this.options.window && this.outcomes.shift()) this.failures--;
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
