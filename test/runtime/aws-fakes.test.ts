/**
 * Drives the REAL AWS SDK v3 clients against the loopback fakes in test/__fixtures__/aws-fakes.ts,
 * so the fakes are known to speak each service's wire protocol before other tests rely on them.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient, ResourceNotFoundException as LambdaNotFound } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, ResourceNotFoundException as SecretNotFound, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  startEventBridgeFake,
  startLambdaFake,
  startS3Fake,
  startSecretsManagerFake,
  type EventBridgeFake,
  type LambdaFake,
  type S3Fake,
  type SecretsManagerFake,
} from '../__fixtures__/aws-fakes';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const clientConfig = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials });

/** Catches the rejection of `promise` so its SDK error can be inspected. */
async function rejection(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail('expected the call to fail');
}

describe('S3 fake', () => {
  let fake: S3Fake;
  let s3: S3Client;
  before(async () => {
    fake = await startS3Fake({ 'agents/seed/readme.txt': 'seeded', 'agents/seed/bytes': Buffer.from([0x68, 0x69]) });
    s3 = new S3Client({ ...clientConfig(fake.url), forcePathStyle: true });
  });
  after(async () => {
    s3.destroy();
    await fake.close();
  });

  const get = async (Key: string) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: 'agents', Key }));
    return { out, bytes: Buffer.from(await out.Body!.transformToByteArray()) };
  };

  it('round-trips a multi-KB object byte for byte', async () => {
    // Multi-byte UTF-8 (accents, CJK, an astral emoji) so any text re-encoding would show.
    const text = Array.from({ length: 400 }, (_, i) => `line ${i}: héllo wörld 你好 🚀\n`).join('');
    const body = Buffer.from(text, 'utf8');
    assert.ok(body.length > 8_000);

    await s3.send(new PutObjectCommand({ Bucket: 'agents', Key: 'runs/r1/transcript.txt', Body: body, ContentType: 'text/plain' }));
    const { out, bytes } = await get('runs/r1/transcript.txt');

    assert.ok(bytes.equals(body));
    assert.ok(fake.objects.get('agents/runs/r1/transcript.txt')?.equals(body));
    assert.equal(out.ContentType, 'text/plain');
    assert.equal(out.ContentLength, body.length);
  });

  it('round-trips JSON exactly as written, pretty-printed or compact', async () => {
    const value = { runId: 'r1', steps: [{ tool: 'search', ok: true }], cost: 0.25, note: 'naïve "quotes" <xml>' };
    for (const [Key, Body] of [
      ['runs/r1/state.json', JSON.stringify(value, null, 2)],
      ['runs/r1/compact.json', JSON.stringify(value)],
    ] as const) {
      await s3.send(new PutObjectCommand({ Bucket: 'agents', Key, Body, ContentType: 'application/json' }));
      const { out, bytes } = await get(Key);
      assert.equal(bytes.toString('utf8'), Body);
      assert.deepEqual(JSON.parse(bytes.toString('utf8')), value);
      assert.equal(out.ContentType, 'application/json');
    }
  });

  it('decodes an aws-chunked streaming upload with a checksum trailer', async () => {
    const parts = ['first part ', 'second part ✓ ', 'third'].map((s) => Buffer.from(s));
    const whole = Buffer.concat(parts);
    await s3.send(new PutObjectCommand({ Bucket: 'agents', Key: 'streamed.txt', Body: Readable.from(parts), ContentLength: whole.length }));

    const put = fake.requests.at(-1)!;
    assert.equal(put.headers['content-encoding'], 'aws-chunked');
    assert.equal(put.headers['x-amz-trailer'], 'x-amz-checksum-crc32');
    assert.ok(fake.objects.get('agents/streamed.txt')?.equals(whole));
    assert.ok((await get('streamed.txt')).bytes.equals(whole));
  });

  it('serves seeded objects', async () => {
    assert.equal((await get('seed/readme.txt')).bytes.toString(), 'seeded');
    assert.equal((await get('seed/bytes')).bytes.toString(), 'hi');
  });

  it('raises NoSuchKey for a missing key', async () => {
    const error = await rejection(s3.send(new GetObjectCommand({ Bucket: 'agents', Key: 'runs/missing.json' })));
    assert.equal(error.name, 'NoSuchKey');
    assert.ok(error instanceof NoSuchKey);
    assert.equal(error.$metadata?.httpStatusCode, 404);
  });

  it('answers HeadObject and DeleteObject', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'agents', Key: 'tmp/x', Body: 'abc' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'agents', Key: 'tmp/x' }));
    assert.equal(head.ContentLength, 3);

    await s3.send(new DeleteObjectCommand({ Bucket: 'agents', Key: 'tmp/x' }));
    assert.equal(fake.objects.has('agents/tmp/x'), false);
    const error = await rejection(s3.send(new HeadObjectCommand({ Bucket: 'agents', Key: 'tmp/x' })));
    assert.equal(error.name, 'NotFound');
  });

  it('lists by prefix, with delimiter and pagination', async () => {
    for (const Key of ['list/b.json', 'list/a.json', 'list/sub/c.json', 'list/sub/d.json', 'listing-not-me', 'other/list/e']) {
      await s3.send(new PutObjectCommand({ Bucket: 'agents', Key, Body: Key }));
    }
    await s3.send(new PutObjectCommand({ Bucket: 'elsewhere', Key: 'list/z', Body: 'z' }));

    const all = await s3.send(new ListObjectsV2Command({ Bucket: 'agents', Prefix: 'list/' }));
    assert.deepEqual(
      all.Contents?.map((o) => o.Key),
      ['list/a.json', 'list/b.json', 'list/sub/c.json', 'list/sub/d.json'],
    );
    assert.equal(all.KeyCount, 4);
    assert.equal(all.IsTruncated, false);
    assert.equal(all.Contents?.[0]?.Size, 'list/a.json'.length);

    const shallow = await s3.send(new ListObjectsV2Command({ Bucket: 'agents', Prefix: 'list/', Delimiter: '/' }));
    assert.deepEqual(shallow.Contents?.map((o) => o.Key), ['list/a.json', 'list/b.json']);
    assert.deepEqual(shallow.CommonPrefixes?.map((p) => p.Prefix), ['list/sub/']);

    const pages: string[][] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'agents', Prefix: 'list/', MaxKeys: 3, ContinuationToken }));
      pages.push(page.Contents?.map((o) => o.Key ?? '') ?? []);
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
    assert.deepEqual(pages, [['list/a.json', 'list/b.json', 'list/sub/c.json'], ['list/sub/d.json']]);
  });

  it('refuses bytes it cannot store exactly rather than corrupting them', async () => {
    // Not UTF-8: startLoopback would decode these bytes to replacement characters.
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const error = await rejection(s3.send(new PutObjectCommand({ Bucket: 'agents', Key: 'binary', Body: binary })));
    assert.equal(error.name, 'BadDigest');
    assert.equal(fake.objects.has('agents/binary'), false);
  });
});

describe('EventBridge fake', () => {
  let fake: EventBridgeFake;
  let failing: EventBridgeFake;
  let events: EventBridgeClient;
  before(async () => {
    fake = await startEventBridgeFake();
    failing = await startEventBridgeFake({ failEntries: 1 });
    events = new EventBridgeClient(clientConfig(fake.url));
  });
  after(async () => {
    events.destroy();
    await Promise.all([fake.close(), failing.close()]);
  });

  const twoEntries = [
    { Source: 'serverless-agents.runtime', DetailType: 'RunCompleted', Detail: JSON.stringify({ runId: 'r1', turns: 3 }), EventBusName: 'agents-bus' },
    { Source: 'serverless-agents.runtime', DetailType: 'ToolCalled', Detail: JSON.stringify({ tool: 'search' }) },
  ];

  it('records both entries of a PutEvents and answers with event ids', async () => {
    const out = await events.send(new PutEventsCommand({ Entries: twoEntries }));

    assert.equal(out.FailedEntryCount, 0);
    assert.equal(out.Entries?.length, 2);
    assert.ok(out.Entries?.every((e) => typeof e.EventId === 'string' && e.EventId.length > 0));
    assert.deepEqual(fake.entries, [
      { Source: 'serverless-agents.runtime', DetailType: 'RunCompleted', Detail: { runId: 'r1', turns: 3 }, EventBusName: 'agents-bus' },
      { Source: 'serverless-agents.runtime', DetailType: 'ToolCalled', Detail: { tool: 'search' }, EventBusName: 'default' },
    ]);
    assert.equal(fake.requests[0]?.headers['x-amz-target'], 'AWSEvents.PutEvents');
  });

  it('fails the first N entries when asked, and records only accepted ones', async () => {
    const client = new EventBridgeClient(clientConfig(failing.url));
    try {
      const out = await client.send(new PutEventsCommand({ Entries: twoEntries }));
      assert.equal(out.FailedEntryCount, 1);
      assert.equal(out.Entries?.[0]?.ErrorCode, 'InternalFailure');
      assert.equal(out.Entries?.[0]?.EventId, undefined);
      assert.ok(out.Entries?.[1]?.EventId);
      assert.deepEqual(failing.entries.map((e) => e.DetailType), ['ToolCalled']);

      // The failure budget is spent, so retrying the failed entry succeeds.
      const retry = await client.send(new PutEventsCommand({ Entries: [twoEntries[0]!] }));
      assert.equal(retry.FailedEntryCount, 0);
      assert.deepEqual(failing.entries.map((e) => e.DetailType), ['ToolCalled', 'RunCompleted']);
    } finally {
      client.destroy();
    }
  });
});

describe('Lambda fake', () => {
  let fake: LambdaFake;
  let lambda: LambdaClient;
  before(async () => {
    fake = await startLambdaFake({
      echo: (payload) => ({ received: payload }),
      greet: async (payload) => `hello ${(payload as { name: string }).name}`,
      broken: () => {
        throw new TypeError('tool exploded');
      },
    });
    lambda = new LambdaClient(clientConfig(fake.url));
  });
  after(async () => {
    lambda.destroy();
    await fake.close();
  });

  const invoke = (FunctionName: string, payload?: unknown) =>
    lambda.send(new InvokeCommand({ FunctionName, ...(payload === undefined ? {} : { Payload: JSON.stringify(payload) }) }));
  const decode = (bytes: Uint8Array | undefined): unknown => JSON.parse(Buffer.from(bytes ?? []).toString('utf8'));

  it('round-trips the payload through the handler', async () => {
    const out = await invoke('echo', { task: 'summarise', items: [1, 2, 3] });
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, undefined);
    assert.deepEqual(decode(out.Payload), { received: { task: 'summarise', items: [1, 2, 3] } });
    assert.deepEqual(fake.invocations.at(-1), { functionName: 'echo', invocationType: 'RequestResponse', payload: { task: 'summarise', items: [1, 2, 3] } });
  });

  it('matches a URL-encoded ARN by its name part and serialises string results as JSON', async () => {
    const out = await invoke('arn:aws:lambda:us-east-1:123456789012:function:greet:live', { name: 'Ada' });
    assert.equal(decode(out.Payload), 'hello Ada');
    assert.deepEqual(fake.invocations.at(-1), { functionName: 'greet', qualifier: 'live', invocationType: 'RequestResponse', payload: { name: 'Ada' } });
    assert.match(fake.requests.at(-1)?.path ?? '', /arn%3Aaws%3Alambda/);
  });

  it('sets FunctionError and returns the error as payload when the handler throws', async () => {
    const out = await invoke('broken', {});
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, 'Unhandled');
    const payload = decode(out.Payload) as { errorType: string; errorMessage: string };
    assert.equal(payload.errorType, 'TypeError');
    assert.equal(payload.errorMessage, 'tool exploded');
  });

  it('raises ResourceNotFoundException for an unknown function', async () => {
    const before = fake.invocations.length;
    const error = await rejection(invoke('nope', {}));
    assert.equal(error.name, 'ResourceNotFoundException');
    assert.ok(error instanceof LambdaNotFound);
    assert.equal(error.$metadata?.httpStatusCode, 404);
    assert.equal(fake.invocations.length, before);
  });

  it('runs an Event invocation before answering 202', async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'Event', Payload: JSON.stringify({ async: true }) }));
    assert.equal(out.StatusCode, 202);
    assert.deepEqual(fake.invocations.at(-1), { functionName: 'echo', invocationType: 'Event', payload: { async: true } });
  });
});

describe('Secrets Manager fake', () => {
  let fake: SecretsManagerFake;
  let secrets: SecretsManagerClient;
  before(async () => {
    fake = await startSecretsManagerFake({ 'agents/anthropic-key': 'sk-test-123', 'agents/db': JSON.stringify({ user: 'u', password: 'p' }) });
    secrets = new SecretsManagerClient(clientConfig(fake.url));
  });
  after(async () => {
    secrets.destroy();
    await fake.close();
  });

  it('returns the secret string by name and by ARN', async () => {
    const out = await secrets.send(new GetSecretValueCommand({ SecretId: 'agents/anthropic-key' }));
    assert.equal(out.SecretString, 'sk-test-123');
    assert.equal(out.Name, 'agents/anthropic-key');
    assert.ok(out.CreatedDate instanceof Date);
    assert.equal(fake.requests.at(-1)?.headers['x-amz-target'], 'secretsmanager.GetSecretValue');

    const byArn = await secrets.send(new GetSecretValueCommand({ SecretId: out.ARN }));
    assert.equal(byArn.SecretString, 'sk-test-123');

    const json = await secrets.send(new GetSecretValueCommand({ SecretId: 'agents/db' }));
    assert.deepEqual(JSON.parse(json.SecretString ?? ''), { user: 'u', password: 'p' });
  });

  it('raises ResourceNotFoundException for an unknown id', async () => {
    const error = await rejection(secrets.send(new GetSecretValueCommand({ SecretId: 'agents/missing' })));
    assert.equal(error.name, 'ResourceNotFoundException');
    assert.ok(error instanceof SecretNotFound);
    assert.equal(error.$metadata?.httpStatusCode, 400);
  });
});
