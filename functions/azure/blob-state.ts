import type { ContainerClient } from '@azure/storage-blob';
import { jobBlobName } from '../../contract/state/table';
import type { AuditRecord, AuditSink } from '../core/audit/records';
import type { JobRecord, JobStore } from '../core/jobs/jobs';
import { auditObject } from '../entry/audit';

/**
 * An Azure agent's state in storage only its identity may write: job status as one JSON blob per
 * job in its state account, audit records laid out as in S3 on AWS in its audit account, whose
 * container keeps every record unchanged for the retention period.
 */

const isNotFound = (e: unknown) => (e as { statusCode?: number }).statusCode === 404;

export class BlobJobStore implements JobStore {
  constructor(private readonly container: ContainerClient) {}

  async put(record: JobRecord): Promise<void> {
    await this.upload(record);
  }

  async create(record: JobRecord): Promise<boolean> {
    try {
      await this.upload(record, { ifNoneMatch: '*' });
      return true;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 409) return false;
      throw e;
    }
  }

  private async upload(record: JobRecord, conditions?: { ifNoneMatch: string }): Promise<void> {
    const body = JSON.stringify(record);
    await this.container
      .getBlockBlobClient(jobBlobName(record.jobId))
      .upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' }, ...(conditions && { conditions }) });
  }

  /** A job as its submitter reads it back, or undefined for an id never queued here. */
  async get(jobId: string): Promise<JobRecord | undefined> {
    // A blob read while its first upload is still being committed can come back empty or cut
    // short (Azurite shows this); a record is always whole JSON, so read again, briefly, before
    // giving up.
    for (let attempt = 1; ; attempt++) {
      let text: string;
      try {
        text = (await this.container.getBlobClient(jobBlobName(jobId)).downloadToBuffer()).toString('utf8');
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
      try {
        return JSON.parse(text) as JobRecord;
      } catch (e) {
        if (attempt === 5) throw new Error(`the record of job ${jobId} is not whole JSON: ${(e as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

export class BlobAuditSink implements AuditSink {
  constructor(private readonly container: ContainerClient) {}

  async write(records: readonly AuditRecord[]): Promise<void> {
    const object = auditObject(records);
    if (!object) return;
    try {
      // Create-only: an attempt's blob is written once and never replaced.
      await this.container
        .getBlockBlobClient(object.key)
        .upload(object.body, Buffer.byteLength(object.body), { blobHTTPHeaders: { blobContentType: 'application/x-ndjson' }, conditions: { ifNoneMatch: '*' } });
    } catch (e) {
      // The same attempt's records already stored (a write retried after its answer was lost).
      if ((e as { statusCode?: number }).statusCode !== 409) throw e;
    }
  }
}
