import type { ContainerClient } from '@azure/storage-blob';
import { jobBlobName } from '../../contract/state/table';
import type { AuditReader, AuditRecord, AuditSink } from '../core/audit/records';
import type { TaskInbox } from '../core/chain/inbox';
import type { JobRecord, JobStore } from '../core/jobs/jobs';
import { auditObjects } from '../entry/audit';

/**
 * An Azure agent's state in storage only its identity may write: job status as one JSON blob per
 * job in its state account, audit records laid out as in S3 on AWS in its audit account, whose
 * container keeps every record unchanged for the retention period. Its inbox, in the same state
 * account, is the one place the agents that send it tasks may write too.
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
    // The attempt's records, and for a run in a chain of agents its run record under the chain's index.
    for (const object of auditObjects(records)) {
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
}

/**
 * Reads a team's audit records back, for operators' tools (`readChain`); agents themselves can
 * read nothing there. Each agent's records are in its own audit account: `containerOf` names it
 * for the agent every key starts with (`agent=NAME/`).
 */
export class BlobAuditReader implements AuditReader {
  constructor(private readonly containerOf: (agent: string) => ContainerClient) {}

  async list(prefix: string): Promise<string[]> {
    const names: string[] = [];
    for await (const blob of this.containerOf(agentOfKey(prefix)).listBlobsFlat({ prefix })) names.push(blob.name);
    return names;
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return (await this.containerOf(agentOfKey(key)).getBlobClient(key).downloadToBuffer()).toString('utf8');
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}

/** The agent an audit key or prefix belongs to (contract/audit/layout.ts). */
function agentOfKey(key: string): string {
  const agent = /^agent=([^/]+)\//.exec(key)?.[1];
  if (!agent) throw new Error(`"${key}" is not under an agent's audit partition (agent=NAME/)`);
  return agent;
}

/**
 * Task inputs too large for a message, as `<key>.json` in the `inbox` container of the receiving
 * agent's state account: the sender writes there (a role on that container alone), the receiver
 * reads its own. `containerOf` names the container of an agent's inbox, and may refuse an agent
 * this one cannot reach.
 */
export class BlobTaskInbox implements TaskInbox {
  constructor(private readonly containerOf: (agent: string) => ContainerClient) {}

  async put(agent: string, key: string, text: string): Promise<void> {
    try {
      // Create-only: a task's input never changes under its run id.
      await this.containerOf(agent)
        .getBlockBlobClient(inboxBlobName(key))
        .upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: 'application/json' }, conditions: { ifNoneMatch: '*' } });
    } catch (e) {
      // Already there: the same task sent again after its first answer was lost.
      const status = (e as { statusCode?: number }).statusCode;
      if (status !== 409 && status !== 412) throw e;
    }
  }

  async get(agent: string, key: string): Promise<string | undefined> {
    try {
      return (await this.containerOf(agent).getBlobClient(inboxBlobName(key)).downloadToBuffer()).toString('utf8');
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}

const inboxBlobName = (key: string) => `${key}.json`;
