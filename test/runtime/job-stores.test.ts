import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BlobServiceClient } from '@azure/storage-blob';
import dynalite from 'dynalite';
import type { JobRecord } from '../../contract/jobs/job-record';
import { DynamoJobStore } from '../../functions/aws/adapters';
import { BlobJobStore } from '../../functions/azure/blob-state';
import type { JobStore } from '../../functions/core/jobs/jobs';
import { startAzurite, type Azurite } from '../__fixtures__/azurite';

/**
 * The job stores' conditional writes, on the real clients against dynalite and Azurite: they are
 * what lets one delivery of a run, and only one, own it.
 */

let dynamo: ReturnType<typeof dynalite>;
let client: DynamoDBClient;
let azurite: Azurite;
const stores: [string, () => JobStore][] = [];

before(async () => {
  dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await client.send(new CreateTableCommand({ TableName: 'state', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  azurite = await startAzurite();
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('jobs');
  await container.create();
  stores.push(['DynamoDB', () => new DynamoJobStore('state', 'support', client)], ['Blob storage', () => new BlobJobStore(container)]);
});

after(async () => {
  client?.destroy();
  await Promise.all([azurite?.stop(), new Promise((r) => dynamo?.close(r))]);
});

const record = (jobId: string, status: JobRecord['status'], deliveries?: number): JobRecord => ({ jobId, agent: 'support', status, updatedAt: '2026-12-01T00:00:00.000Z', ...(deliveries && { deliveries }) });

describe('the job stores', () => {
  it('create a record only once, and replace one only over exactly the record read', async () => {
    for (const [name, store] of stores) {
      const jobs = store();
      assert.equal(await jobs.create(record('a', 'queued')), true, name);
      assert.equal(await jobs.create(record('a', 'running')), false, `${name}: a second create`);
      const read = (await jobs.get('a'))!;
      assert.equal(await jobs.replace(record('a', 'running', 9), record('a', 'succeeded')), false, `${name}: over a record it did not read`);
      assert.equal(await jobs.replace(read, record('a', 'running', 1)), true, name);
      assert.equal(await jobs.replace(read, record('a', 'running', 2)), false, `${name}: over a record changed since`);
      assert.deepEqual(await jobs.get('a'), record('a', 'running', 1), name);
      assert.equal(await jobs.replace(record('missing', 'queued'), record('missing', 'running')), false, `${name}: no record`);
    }
  });

  it('let one of many deliveries that read the same record win', async () => {
    for (const [name, store] of stores) {
      const jobs = store();
      await jobs.put(record('b', 'queued'));
      const read = (await jobs.get('b'))!;
      const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => jobs.replace(read, record('b', 'running', i + 1))));
      assert.equal(wins.filter(Boolean).length, 1, name);
      assert.equal((await jobs.get('b'))!.deliveries, wins.indexOf(true) + 1, name);
    }
  });
});
