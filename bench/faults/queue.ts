import type { AgentDefinition } from '../../contract/definition/define';
import type { JobRecord } from '../../contract/jobs/job-record';
import { duplicateEffects, faultsInjected, modelCalls, outputChecker, random, type FaultReport, type ToolServices } from './scenario';

/** One message as the queue holds it; `receives` counts its deliveries so far. */
export interface QueuedMessage {
  readonly id: string;
  readonly job: number;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  receives: number;
  /** A copy the queue delivers again after the job finished, or alongside the first. */
  readonly copy?: 'late' | 'concurrent';
}

/** How a delivery ended: done with (deleted, completed) or handed back for another delivery. */
export type Delivery = 'done' | 'again';

export interface QueueOptions {
  readonly maxReceives: number;
  /** Share of finished messages delivered once more, later. */
  readonly lateDuplicates: number;
  /** How long a message handed back waits before it is visible again (the visibility timeout, scaled down). */
  readonly redeliveryDelayMs: number;
}

/**
 * A queue as SQS and Service Bus behave for one consumer: at-least-once delivery, a message handed
 * back (batch item failure, abandon, crash) comes again with its count raised, and a message that
 * fails its last allowed delivery goes to the dead-letter queue. Finished messages are sometimes
 * delivered once more (both services allow it), and the driver may put copies in at the start.
 */
export class SimulatedQueue {
  readonly deadLetters: QueuedMessage[] = [];
  deliveries = 0;
  lateCopies = 0;
  private readonly visible: QueuedMessage[] = [];
  private waiting = 0;
  private inFlight = 0;

  constructor(private readonly options: QueueOptions) {}

  send(message: QueuedMessage): void {
    this.visible.push(message);
  }

  /**
   * Delivers until nothing is visible, waiting or in flight, with `consumers` deliveries at once.
   * `late` sees each late copy's delivery (to check it ran nothing).
   */
  async drain(consumers: number, deliver: (message: QueuedMessage) => Promise<Delivery>): Promise<void> {
    const consumer = async () => {
      for (;;) {
        const message = this.visible.shift();
        if (!message) {
          if (this.waiting === 0 && this.inFlight === 0) return;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        this.inFlight++;
        message.receives++;
        this.deliveries++;
        let outcome: Delivery;
        try {
          outcome = await deliver(message);
        } catch {
          outcome = 'again';
        }
        if (outcome === 'again') {
          if (message.receives >= this.options.maxReceives) this.deadLetters.push(message);
          else this.later({ ...message }, this.options.redeliveryDelayMs);
        } else if (!message.copy && random() < this.options.lateDuplicates) {
          this.lateCopies++;
          this.later({ ...message, receives: 0, copy: 'late' }, this.options.redeliveryDelayMs);
        }
        this.inFlight--;
      }
    };
    await Promise.all(Array.from({ length: consumers }, consumer));
  }

  private later(message: QueuedMessage, delayMs: number): void {
    this.waiting++;
    setTimeout(() => {
      this.waiting--;
      this.visible.push(message);
    }, delayMs);
  }
}

/** What one run saw, for its report. */
export interface RunObservations {
  readonly cloud: string;
  readonly runtime: string;
  readonly definition: AgentDefinition;
  /** Each job's final record by job number; undefined when it has none. */
  readonly record: (job: number) => JobRecord | undefined;
  readonly jobs: number;
  readonly queue: SimulatedQueue;
  readonly tools: ToolServices;
  readonly concurrentDuplicates: number;
  readonly lateDuplicatesThatRan: number;
  readonly runFailedEvents: number;
  readonly started: number;
}

/** Counts one run's endings against the targets, the same way for every cloud. */
export function faultReport(run: RunObservations): FaultReport {
  const valid = outputChecker(run.definition);
  const jobs = Array.from({ length: run.jobs }, (_, n) => n);
  const status = (n: number) => run.record(n)?.status;
  const effects = duplicateEffects(run.tools);
  return {
    cloud: run.cloud,
    runtime: run.runtime,
    jobs: run.jobs,
    succeeded: jobs.filter((n) => status(n) === 'succeeded').length,
    failed: jobs.filter((n) => status(n) === 'failed').length,
    deadLettered: jobs.filter((n) => status(n) === 'dead_lettered').length,
    lost: jobs.filter((n) => !['succeeded', 'failed', 'dead_lettered'].includes(status(n) ?? '')).length,
    deadLetteredUnannounced: new Set(run.queue.deadLetters.filter((m) => status(m.job) !== 'dead_lettered').map((m) => m.job)).size,
    succeededWithoutValidOutput: jobs.filter((n) => status(n) === 'succeeded' && !valid(run.record(n)!)).length,
    duplicateSideEffects: effects.duplicates,
    unkeyedSideEffects: effects.unkeyed,
    deliveries: run.queue.deliveries,
    lateDuplicates: run.queue.lateCopies,
    lateDuplicatesThatRan: run.lateDuplicatesThatRan,
    concurrentDuplicates: run.concurrentDuplicates,
    modelCalls: [...modelCalls.values()].reduce((a, b) => a + b, 0),
    faults: Object.fromEntries(faultsInjected),
    runFailedEvents: run.runFailedEvents,
    seconds: (Date.now() - run.started) / 1000,
  };
}

/** The report's table, one column per run. */
export function reportTable(reports: readonly FaultReport[]): string {
  const row = (label: string, value: (r: FaultReport) => string | number) => `| ${label} | ${reports.map((r) => value(r)).join(' | ')} |`;
  return [
    `| | ${reports.map((r) => `${r.cloud}, ${r.runtime}`).join(' | ')} |`,
    `|---|${reports.map(() => '---:').join('|')}|`,
    row('jobs submitted', (r) => r.jobs),
    row('succeeded', (r) => r.succeeded),
    row('failed', (r) => r.failed),
    row('dead-lettered', (r) => r.deadLettered),
    row('**lost** (in no terminal state)', (r) => `**${r.lost}**`),
    row('**in the dead-letter queue, job not saying so**', (r) => `**${r.deadLetteredUnannounced}**`),
    row('**succeeded without valid output**', (r) => `**${r.succeededWithoutValidOutput}**`),
    row('**duplicate side effects**', (r) => `**${r.duplicateSideEffects}**`),
    row('side effects without an idempotency key', (r) => r.unkeyedSideEffects),
    row('deliveries', (r) => r.deliveries),
    row('late redeliveries of finished jobs', (r) => r.lateDuplicates),
    row('**of which ran anything**', (r) => `**${r.lateDuplicatesThatRan}**`),
    row('jobs delivered twice at once', (r) => r.concurrentDuplicates),
    row('run.failed events', (r) => r.runFailedEvents),
    row('model calls', (r) => r.modelCalls),
    row('of which faults', (r) => Object.values(r.faults).reduce((a, b) => a + b, 0)),
    row('wall time, s', (r) => r.seconds.toFixed(0)),
  ].join('\n');
}
