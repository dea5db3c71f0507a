import type { RunStopReason } from '../audit/records';
import type { ValidationReport } from '../output/validate';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** A job as its submitter reads it back by id. */
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

/** Where job status lives: DynamoDB on AWS. */
export interface JobStore {
  put(record: JobRecord): Promise<void>;
  get(agent: string, jobId: string): Promise<JobRecord | undefined>;
}

/** The table key of a job: agents are scoped to their own prefix by IAM. */
export const jobKey = (agent: string, jobId: string) => `job#${agent}#${jobId}`;
