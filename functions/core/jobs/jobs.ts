import type { JobRecord } from '../../../contract/jobs/job-record';

export type { JobRecord, JobStatus } from '../../../contract/jobs/job-record';

/** Where job status lives: DynamoDB on AWS, Blob storage on Azure. The AWS API reads it back without the runtime. */
export interface JobStore {
  put(record: JobRecord): Promise<void>;
  /** A job's record, or undefined for an id never recorded. */
  get(jobId: string): Promise<JobRecord | undefined>;
}
