import type { Runtime } from '../entry/assemble';
import { deadlineFrom } from '../entry/outcome';
import { runQueued, type QueuedRun } from '../entry/queued';
import { runDurable } from '../entry/durable';
import type { StepRunner } from '../core/agent/steps';

/** A queued run (a job, a schedule's firing, an event) that failed every delivery, kept as a dead-letter queue keeps it. */
export interface DeadLetter {
  /** Its id here: the run's. */
  readonly id: string;
  readonly agent: string;
  readonly run: QueuedRun;
  readonly deliveries: number;
  /** Why its last delivery failed. */
  readonly error: string;
  readonly deadLetteredAt: string;
}

export interface DevJobQueueOptions {
  /** How a durable agent's run is carried out: its engine. @default none: durable agents' runs go through the queued-run entry too */
  readonly durable?: (runtime: Runtime, run: QueuedRun) => StepRunner;
  /** Deliveries before a job is dead-lettered, as AgentQueue's maxReceiveCount. @default 3 */
  readonly maxDeliveries?: number;
  /** The pause before a failed delivery is tried again (ms). @default 0: at once, on a laptop */
  readonly redeliveryDelayMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * The agents' queues in one process: a job the API accepts, a schedule fired or an event sent is
 * delivered through the same queued-run entry the clouds' queue handlers use (its job record moves
 * through the same states), again after a failure worth another try, and after its last delivery
 * kept as a dead letter, whose job record says `dead_lettered`, until it is redriven.
 */
export class DevJobQueue {
  private readonly dead = new Map<string, DeadLetter>();
  private inFlight = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly runtime: (agent: string) => Runtime,
    private readonly options: DevJobQueueOptions = {},
  ) {}

  /** Puts `run` on `agent`'s queue. */
  send(agent: string, run: QueuedRun): void {
    this.deliver(agent, run, 1);
  }

  /** The dead letters, oldest first. */
  deadLetters(): DeadLetter[] {
    return [...this.dead.values()];
  }

  /** Puts a dead letter back on its agent's queue, its deliveries counted afresh; false if there is none of that id. */
  redrive(id: string): boolean {
    const letter = this.dead.get(id);
    if (!letter) return false;
    this.dead.delete(id);
    this.deliver(letter.agent, letter.run, 1);
    return true;
  }

  /** Resolves when no job is being delivered or waits to be. */
  idle(): Promise<void> {
    return this.inFlight ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }

  private settled(): void {
    this.inFlight--;
    if (!this.inFlight) for (const resolve of this.waiters.splice(0)) resolve();
  }

  /** Delivers the job after `delayMs`; counted in flight from now, so `idle` never sees a gap between tries. */
  private deliver(agent: string, queued: QueuedRun, delivery: number, delayMs = 0): void {
    this.inFlight++;
    const max = this.options.maxDeliveries ?? 3;
    const runtime = this.runtime(agent);
    const last = delivery >= max;
    const engine = runtime.config.definition.durable ? this.options.durable : undefined;
    const run = async () => {
      if (engine) {
        // A durable run's ending is final, as its engine's is: failDurable records why.
        try {
          await runDurable(runtime, queued, engine(runtime, queued));
        } catch (e) {
          this.options.log?.(JSON.stringify({ message: 'durable run failed', agent, runId: queued.runId, error: (e as Error).message }));
        } finally {
          this.settled();
        }
        return;
      }
      try {
        await runQueued(runtime, queued, {
          deadline: deadlineFrom(runtime.config.definition.limits.timeoutSeconds * 1000),
          ...(last && { lastDelivery: 'dead_lettered' as const }),
          ...(this.options.log && { log: this.options.log }),
        });
      } catch (e) {
        if (last) this.dead.set(queued.runId, { id: queued.runId, agent, run: queued, deliveries: delivery, error: (e as Error).message, deadLetteredAt: new Date().toISOString() });
        else this.deliver(agent, queued, delivery + 1, this.options.redeliveryDelayMs ?? 0);
      } finally {
        this.settled();
      }
    };
    setTimeout(() => void run(), delayMs);
  }
}
