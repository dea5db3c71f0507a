import { resultEventType } from '../../contract/chain/envelope';
import type { AgentEventDetail } from '../../contract/events/agent-events';
import { mergeChildren, type ChildRun, type JobStatus } from '../../contract/jobs/job-record';
import { chainLinkOf } from '../core/chain/chain';
import type { EventPublisher } from '../core/events/events';
import type { JobStore } from '../core/jobs/jobs';

/**
 * A hand-off's or job's run reports its ending to the agent that sent it (`result.to.SENDER`, the
 * detail of its `run.completed` or `run.failed`), and the sender keeps it on its own job record's
 * `children`: so the status of an orchestrated job shows each child as it ended, not only as it
 * was sent. Calls need none: their caller holds the answer.
 */

/** The task a run came as, as far as its report needs it. */
type SentTask = Parameters<typeof chainLinkOf>[0];

/**
 * The events of a run `task` started: what it announces as it ends (`run.completed`, a final
 * `run.failed`) also goes to the agent that sent it, with the run's place in its chain (a run that
 * failed before it ran has no chain of its own to give) and how it ended.
 */
export function reportingTo(events: EventPublisher, task: SentTask | undefined): EventPublisher {
  if (!task || task.kind === 'call') return events;
  return {
    publish: async (type, detail) => {
      await events.publish(type, detail);
      if (type !== 'run.completed' && type !== 'run.failed') return;
      const chain = detail.chain ?? chainLinkOf(task);
      await events.publish(resultEventType(task.from), { ...detail, chain, status: type === 'run.completed' ? 'succeeded' : (detail.status ?? 'failed') });
    },
  };
}

/** How many times a report is written again over a record another writer changed meanwhile. */
const ATTEMPTS = 5;

/**
 * Keeps a child's report on the sender's record of the run that sent it: the child as it ended,
 * over the `queued` the run left. A report for a record this agent does not have (a run answered
 * synchronously keeps none, or it expired) changes nothing; one that is not this agent's, or not a
 * report, is refused, saying why. A record changed by another writer is read again.
 */
export async function recordChildReport(jobs: JobStore | undefined, self: string, detail: unknown, log: (line: string) => void = console.error): Promise<'recorded' | 'known' | 'no record'> {
  const report = detail as Partial<AgentEventDetail> | undefined;
  const link = report?.chain;
  if (typeof report?.runId !== 'string' || typeof report.agent !== 'string' || !link || typeof link.parentRunId !== 'string' || link.parentAgent !== self || (link.kind !== 'job' && link.kind !== 'handoff')) {
    throw new Error(`not a report of a hand-off or job agent ${self} sent: ${JSON.stringify(detail)?.slice(0, 200)}`);
  }
  const child: ChildRun = {
    runId: report.runId,
    agent: report.agent,
    kind: link.kind,
    status: (report.status ?? 'failed') as JobStatus,
    ...(report.costUsd !== undefined && { costUsd: report.costUsd }),
    ...(report.error !== undefined && { error: report.error }),
  };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const record = await jobs?.get(link.parentRunId);
    if (!record) {
      log(JSON.stringify({ message: 'a child reported its end for a run with no record here; nothing to keep it on', runId: link.parentRunId, child: child.runId }));
      return 'no record';
    }
    const children = mergeChildren(record.children ?? [], [child]);
    if (JSON.stringify(children) === JSON.stringify(record.children ?? [])) return 'known';
    // The record's time stays its run's: a report is not the run moving on.
    if (await jobs!.replace(record, { ...record, children })) return 'recorded';
  }
  throw new Error(`could not keep the report of ${child.runId} on run ${link.parentRunId}: its record kept changing`);
}

/** Whether an event type is a report to `self`. */
export const isReportTo = (type: unknown, self: string) => type === resultEventType(self);
