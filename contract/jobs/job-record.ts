import type { RunStopReason, ValidationReport } from '../runs/results';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** A queued run as its submitter reads it back by id: the body of `GET /agents/{name}/jobs/{jobId}`. */
export interface JobRecord {
  readonly jobId: string;
  readonly agent: string;
  readonly status: JobStatus;
  readonly updatedAt: string;
  readonly stopReason?: RunStopReason;
  readonly output?: string;
  readonly structuredOutput?: unknown;
  readonly error?: string;
  readonly validation?: ValidationReport;
}

/** Days a job's record stays readable, on both clouds; the audit trail keeps the history. */
export const JOB_RETENTION_DAYS = 30;
