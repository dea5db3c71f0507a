import type { ContainerClient } from '@azure/storage-blob';
import { jobBlobName } from '../../contract/state/table';
import type { AuditRecord, AuditSink } from '../core/audit/records';
import type { JobRecord, JobStore } from '../core/jobs/jobs';
import { auditObject } from '../entry/audit';

/**
 * An Azure agent's state in its own storage account, where only its identity may write: job status
 * as one JSON blob per job, audit records laid out as in S3 on AWS.
 */

const isNotFound = (e: unknown) => (e as { statusCode?: number }).statusCode === 404;

export class BlobJobStore implements JobStore {
  constructor(private readonly container: ContainerClient) {}

  async put(record: JobRecord): Promise<void> {
    const body = JSON.stringify(record);
    await this.container.getBlockBlobClient(jobBlobName(record.jobId)).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  }

  /** A job as its submitter reads it back, or undefined for an id never queued here. */
  async get(jobId: string): Promise<JobRecord | undefined> {
    try {
      return JSON.parse((await this.container.getBlobClient(jobBlobName(jobId)).downloadToBuffer()).toString('utf8')) as JobRecord;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}

export class BlobAuditSink implements AuditSink {
  constructor(private readonly container: ContainerClient) {}

  async write(records: readonly AuditRecord[]): Promise<void> {
    const object = auditObject(records);
    if (!object) return;
    await this.container.getBlockBlobClient(object.key).upload(object.body, Buffer.byteLength(object.body), { blobHTTPHeaders: { blobContentType: 'application/x-ndjson' } });
  }
}
