import type { JobRecord } from '../../../contract/jobs/job-record';

export type { JobRecord, JobStatus } from '../../../contract/jobs/job-record';

/** Where job status lives: DynamoDB on AWS, Blob storage on Azure. The AWS API reads it back without the runtime. */
export interface JobStore {
  put(record: JobRecord): Promise<void>;
  /** Writes the record only if none exists under its id; false when one does. */
  create(record: JobRecord): Promise<boolean>;
  /**
   * Writes `next` only if the stored record is still `expected` (as `get` returned it); false when
   * another writer changed it first. Two deliveries of one job that read the same record race
   * here, and only one wins.
   */
  replace(expected: JobRecord, next: JobRecord): Promise<boolean>;
  /** A job's record, or undefined for an id never recorded. */
  get(jobId: string): Promise<JobRecord | undefined>;
}

/**
 * Writes `next` only if the record is still what was read (`read`, or nothing): create-only for a
 * job never recorded, a write over exactly that record otherwise. Of several writers that read the
 * same record, one wins; it owns the job.
 */
export function claimJob(jobs: JobStore, read: JobRecord | undefined, next: JobRecord): Promise<boolean> {
  return read ? jobs.replace(read, next) : jobs.create(next);
}

/** Keeps every record written, in memory: for tests and local runs. */
export class MemoryJobStore implements JobStore {
  readonly history: JobRecord[] = [];

  async put(record: JobRecord): Promise<void> {
    this.history.push(record);
  }

  async create(record: JobRecord): Promise<boolean> {
    // Checked and written in one turn, as the real stores' conditional writes are atomic.
    if (this.history.some((r) => r.jobId === record.jobId)) return false;
    this.history.push(record);
    return true;
  }

  async replace(expected: JobRecord, next: JobRecord): Promise<boolean> {
    // Compared and written in one turn, as the real stores' conditional writes are atomic.
    if (JSON.stringify(this.history.filter((r) => r.jobId === next.jobId).at(-1)) !== JSON.stringify(expected)) return false;
    this.history.push(next);
    return true;
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    return this.history.filter((r) => r.jobId === jobId).at(-1);
  }
}
