import type { JobStatus } from '../jobs/job-record';

/**
 * What arrives on an agent's queue, besides bodies other systems send straight to it: jobs the
 * API submitted and runs a schedule started. The API and the schedule rules write these; the
 * queued-run handlers of both clouds read them.
 */

/**
 * The message attributes of a job an agent's function puts on its own SQS queue when the AWS API
 * hands it `POST /agents/{name}/jobs`. They travel with the message into the dead-letter queue, so
 * a job that ends there still says what it was.
 */
export const JOB_MESSAGE_ATTRIBUTES = ['jobId', 'agent', 'caller', 'submittedAt'] as const;

export interface JobMessageAttributes extends Record<(typeof JOB_MESSAGE_ATTRIBUTES)[number], string | number> {
  readonly jobId: string;
  readonly agent: string;
  readonly caller: string;
  /** Epoch milliseconds. */
  readonly submittedAt: number;
}

/** The Service Bus message body of a job the Azure job route submitted (the Node binding sets no attributes). */
export interface JobMessage {
  readonly jobId: string;
  readonly agent: string;
  readonly input: string | Record<string, unknown>;
}

/** What the job routes answer with 202, on both clouds: a resubmitted idempotency key gets its job's status. */
export interface JobAccepted {
  readonly jobId: string;
  readonly status: JobStatus;
  /** The path that reads the job's status back. */
  readonly statusUrl: string;
}

/**
 * The message a schedule puts on the agent's queue: the prompt the definition's trigger gives, and
 * the firing it came from. EventBridge delivers at least once; every delivery of one firing carries
 * the same event id, so the run it starts is keyed by that id and runs once.
 */
export interface ScheduleMessage {
  readonly source: typeof SCHEDULE_SOURCE;
  readonly input: string;
  /** The id of the EventBridge event that fired the schedule. */
  readonly eventId?: string;
  /** When the schedule fired, as the event's ISO time. */
  readonly time?: string;
}

export const SCHEDULE_SOURCE = 'schedule';

export const scheduleMessage = (input: string, firing?: { readonly eventId: string; readonly time: string }): ScheduleMessage => ({ source: SCHEDULE_SOURCE, input, ...firing });

export function isScheduleMessage(body: unknown): body is ScheduleMessage {
  const b = body as Partial<ScheduleMessage> | undefined;
  return b?.source === SCHEDULE_SOURCE && typeof b.input === 'string';
}

/**
 * The run id of one firing of a schedule, on either cloud: from the event id on AWS, from the
 * schedule and its occurrence (to the minute, the finest any schedule expression names) on Azure.
 */
export const scheduledRunId = (firing: string) => `schedule-${firing}`;
