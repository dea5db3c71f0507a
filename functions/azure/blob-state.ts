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
    return this.uploadIf(record, { ifNoneMatch: '*' });
  }

  async replace(expected: JobRecord, next: JobRecord): Promise<boolean> {
    const current = await this.read(next.jobId);
    if (!current || JSON.stringify(current.record) !== JSON.stringify(expected)) return false;
    // Written only over the blob just read: another writer in between changes its ETag.
    return this.uploadIf(next, { ifMatch: current.etag });
  }

  /** A conditional upload: false when the condition fails (409 for ifNoneMatch, 412 for ifMatch). */
  private async uploadIf(record: JobRecord, conditions: { ifNoneMatch: string } | { ifMatch: string }): Promise<boolean> {
    try {
      await this.upload(record, conditions);
      return true;
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status === 409 || status === 412) return false;
      throw e;
    }
  }

  private async upload(record: JobRecord, conditions?: { ifNoneMatch: string } | { ifMatch: string }): Promise<void> {
    const body = JSON.stringify(record);
    await this.container
      .getBlockBlobClient(jobBlobName(record.jobId))
      .upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' }, ...(conditions && { conditions }) });
  }

  /** A job as its submitter reads it back, or undefined for an id never queued here. */
  async get(jobId: string): Promise<JobRecord | undefined> {
    return (await this.read(jobId))?.record;
  }

  private async read(jobId: string): Promise<{ record: JobRecord; etag: string } | undefined> {
    // A blob read while its first upload is still being committed can come back empty or cut
    // short (Azurite shows this); a record is always whole JSON, so read again, briefly, before
    // giving up.
    const blob = this.container.getBlobClient(jobBlobName(jobId));
    for (let attempt = 1; ; attempt++) {
      let text: string;
      let etag: string;
      try {
        // One request: the body and the ETag of the version it is.
        const response = await blob.download();
        etag = response.etag!;
        const chunks: Buffer[] = [];
        for await (const chunk of response.readableStreamBody!) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        text = Buffer.concat(chunks).toString('utf8');
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
      try {
        return { record: JSON.parse(text) as JobRecord, etag };
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
