import type { RefusalReason, TaskKind } from '../chain/envelope';
import type { ChainLink, JobStatus, WaitingForApproval } from '../jobs/job-record';
import type { RunStopReason, Usage, ValidationReport } from '../runs/results';

/**
 * Agent events as they travel on the bus (EventBridge on AWS, Event Grid on Azure) and as `event`
 * triggers match them: the source, the types, the one detail schema (documented in
 * docs/runtime.md), and the Event Grid subject that stands in for EventBridge's source.
 */

/** The source of every agent event on the bus. */
export const AGENT_EVENT_SOURCE = 'serverless-agents';

/**
 * What agents announce. Tasks one agent sends another travel as events too, typed by their target
 * (`handoff.to.NAME`, `delegation.to.NAME`, see contract/chain), so grants and rules can name them.
 */
export const AGENT_EVENT_TYPES = ['run.completed', 'run.failed', 'handoff.refused', 'approval.requested'] as const;
/**
 * What agents announce, and the ending of a hand-off or job a run reports to the agent that sent
 * it (`result.to.SENDER`, see contract/chain): typed by its receiver, as tasks are.
 */
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number] | `result.to.${string}`;

/** The detail of every agent event (EventBridge `detail`, Event Grid `data`); fields that don't apply are left out. */
export interface AgentEventDetail {
  readonly version: 1;
  readonly runId: string;
  readonly jobId?: string;
  readonly agent: string;
  readonly cohort: string;
  readonly trigger: string;
  readonly promptVersion: string;
  readonly definitionVersion: string;
  readonly stopReason?: RunStopReason;
  readonly output?: string;
  readonly structuredOutput?: unknown;
  readonly error?: string;
  /** For `run.failed`: where the run ends, `failed` or (its queue gave up on it) `dead_lettered`. */
  readonly status?: JobStatus;
  readonly validation?: ValidationReport;
  readonly usage?: Usage;
  readonly costUsd?: number;
  /** For a run in a chain of agents: the chain, the run that sent it, and its hop. */
  readonly chain?: ChainLink;
  /** For `approval.requested`: the tool call waiting for a person, who may decide, until when. */
  readonly approval?: WaitingForApproval;
  /** For `handoff.refused`: the task refused, and why. */
  readonly refused?: { readonly kind: TaskKind; readonly from: string; readonly to: string; readonly taskRunId: string; readonly reason: RefusalReason; readonly message: string };
}

/**
 * An event's Event Grid subject: `<source>/agents/<agent>/runs/<run>`. Event Grid has no source
 * field to filter on, so a pattern's `source` becomes a filter on the start of the subject.
 */
export const eventSubject = (agent: string, runId: string) => `${subjectPrefix(AGENT_EVENT_SOURCE)}agents/${agent}/runs/${runId}`;

/** The start of the subject of every event from `source`. */
export const subjectPrefix = (source: string) => `${source}/`;
