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

/** Where job status lives: DynamoDB on AWS. The API reads it back without the runtime. */
export interface JobStore {
  put(record: JobRecord): Promise<void>;
}
