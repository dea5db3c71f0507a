/**
 * Loopback fakes of the AWS services the runtime calls besides the model: S3, EventBridge, Lambda
 * and Secrets Manager. Each answers in the service's real wire protocol, so a test points the REAL
 * SDK v3 client at `fake.url` (dummy credentials, region us-east-1, and `forcePathStyle: true` for
 * S3) and exercises the same serialisation, error parsing and checksum code that runs in Lambda.
 *
 * All four clients use the SDK's HTTP/1.1 handler (unlike Bedrock Runtime, which defaults to
 * HTTP/2); pointed at an h2c server they fail with "Parse Error: Expected HTTP/". So every fake
 * here serves HTTP/1.1. Signatures are never checked.
 *
 * One constraint shapes the S3 fake: startLoopback hands a fake the request body as UTF-8 text,
 * already JSON-parsed when it parses, and writes a reply body as UTF-8 text. The S3 fake therefore
 * rebuilds the exact bytes from that text and proves them against the length and checksums the SDK
 * sends with every upload; bytes it cannot prove (non-UTF-8 binary, JSON laid out in a way it
 * cannot reproduce) are refused with an S3 error instead of being stored corrupted.
 */
import { createHash, randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { startLoopback, type LoopbackReply, type RecordedRequest } from './loopback';

export type { RecordedRequest } from './loopback';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

interface FakeBase {
  /** What the client under test takes as its `endpoint`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

function header(request: RecordedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function headerMap(request: RecordedRequest): Record<string, string | undefined> {
  return Object.fromEntries(Object.keys(request.headers).map((name) => [name, header(request, name)]));
}

// ---------------------------------------------------------------------------------------------
// S3 (restXml), path-style: /{bucket}/{key}

export interface S3Fake extends FakeBase {
  /** Every stored object, keyed `bucket/key`. Tests may read and seed it directly. */
  readonly objects: Map<string, Buffer>;
}

/** What a PutObject carried besides the bytes, replayed by GetObject and HeadObject. */
interface ObjectMeta {
  readonly contentType?: string;
  readonly userMetadata: Readonly<Record<string, string>>;
  readonly lastModified: Date;
}

export async function startS3Fake(initial: Record<string, string | Buffer> = {}): Promise<S3Fake> {
  const objects = new Map<string, Buffer>();
  for (const [id, value] of Object.entries(initial)) objects.set(id, Buffer.from(value));
  const metadata = new Map<string, ObjectMeta>();
  const started = new Date();

  const server = await startLoopback((request): LoopbackReply => {
    const queryAt = request.path.indexOf('?');
    const rawPath = queryAt === -1 ? request.path : request.path.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? '' : request.path.slice(queryAt + 1));
    // Split the raw path by hand: URL parsing would collapse `.` and `..` segments, which are
    // legal inside S3 keys. The SDK leaves `/` in keys unescaped and percent-encodes the rest.
    const slash = rawPath.indexOf('/', 1);
    const bucket = decodeURIComponent(slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash));
    const key = slash === -1 ? '' : decodeURIComponent(rawPath.slice(slash + 1));
    const id = `${bucket}/${key}`;
    const what = `${request.method} ${request.path}`;

    if (bucket === '') return s3Error(501, 'NotImplemented', `the fake serves path-style object requests only, not ${what}`);
    if (query.has('uploads') || query.has('uploadId')) {
      return s3Error(501, 'NotImplemented', 'the fake has no multipart uploads; send one PutObject (lib-storage Upload of a body under 5 MB does)');
    }
    if (key === '') {
      if (request.method === 'GET' && query.get('list-type') === '2') return listObjectsV2(bucket, query);
      return s3Error(501, 'NotImplemented', `the fake serves ListObjectsV2 as its only bucket operation, not ${what}`);
    }

    switch (request.method) {
      case 'PUT': {
        if (header(request, 'x-amz-copy-source')) return s3Error(501, 'NotImplemented', 'the fake has no CopyObject');
        // A conditional write (S3 has honoured If-None-Match: * since 2024) refuses an existing key.
        const ifNoneMatch = header(request, 'if-none-match');
        if (ifNoneMatch !== undefined && ifNoneMatch !== '*') return s3Error(501, 'NotImplemented', 'S3 accepts only If-None-Match: * on PutObject');
        if (ifNoneMatch === '*' && objects.has(id)) return s3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
        const recovered = recoverUpload(request);
        if (typeof recovered === 'string') {
          return s3Error(400, 'BadDigest', `the fake cannot store ${id} byte-exactly: ${recovered}. ${LOOPBACK_TEXT_LIMIT}`);
        }
        objects.set(id, recovered);
        metadata.set(id, {
          contentType: header(request, 'content-type'),
          userMetadata: userMetadataOf(request),
          lastModified: new Date(),
        });
        return { status: 200, headers: { etag: etagOf(recovered), 'x-amz-request-id': randomUUID() }, body: '' };
      }
      case 'GET':
      case 'HEAD': {
        const data = objects.get(id);
        if (data === undefined) {
          // A HEAD response has no body, so the SDK names the error after the status: NotFound.
          if (request.method === 'HEAD') return { status: 404, headers: { 'x-amz-request-id': randomUUID() }, body: '' };
          return s3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
        }
        if (header(request, 'range')) return s3Error(501, 'NotImplemented', 'the fake does not serve ranged GETs');
        const headers = objectHeaders(data, metadata.get(id) ?? { userMetadata: {}, lastModified: started }, request);
        if (request.method === 'HEAD') return { status: 200, headers: { ...headers, 'content-length': String(data.length) }, body: '' };
        const text = data.toString('utf8');
        if (!Buffer.from(text, 'utf8').equals(data)) {
          return s3Error(501, 'NotImplemented', `${id} is not valid UTF-8 and the fake cannot send it unchanged. ${LOOPBACK_TEXT_LIMIT}`);
        }
        return { status: 200, headers, body: text };
      }
      case 'DELETE':
        objects.delete(id);
        metadata.delete(id);
        return { status: 204, headers: { 'x-amz-request-id': randomUUID() }, body: '' };
      default:
        return s3Error(501, 'NotImplemented', `the fake does not serve ${what}`);
    }
  });

  function listObjectsV2(bucket: string, query: URLSearchParams): LoopbackReply {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(Number(query.get('max-keys') ?? '1000'), 1000);
    const token = query.get('continuation-token');
    const startAfter = query.get('start-after') ?? '';
    // The token is the last key or common prefix already returned; anything at or before it was listed.
    const marker = token !== null ? Buffer.from(token, 'base64url').toString('utf8') : startAfter;
    const encode = query.get('encoding-type') === 'url' ? (s: string) => encodeURIComponent(s).replace(/%2F/g, '/') : (s: string) => s;

    const bucketPrefix = `${bucket}/`;
    const keys = [...objects.keys()]
      .filter((id) => id.startsWith(bucketPrefix))
      .map((id) => id.slice(bucketPrefix.length))
      .filter((key) => key.startsWith(prefix))
      // S3 lists in UTF-8 byte order, which differs from JS string order past the BMP.
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

    const contents: string[] = [];
    const commonPrefixes: string[] = [];
    let last = '';
    let truncated = false;
    for (const key of keys) {
      const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
      const entry = cut === -1 ? key : key.slice(0, cut + delimiter.length);
      if (marker !== '' && Buffer.compare(Buffer.from(entry), Buffer.from(marker)) <= 0) continue;
      if (entry === last) continue; // another key under a common prefix already listed
      if (contents.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      last = entry;
      if (cut === -1) {
        const data = objects.get(bucketPrefix + key) ?? Buffer.alloc(0);
        const modified = metadata.get(bucketPrefix + key)?.lastModified ?? started;
        contents.push(
          `<Contents>${xmlElement('Key', encode(key))}${xmlElement('LastModified', modified.toISOString())}` +
            `${xmlElement('ETag', etagOf(data))}${xmlElement('Size', String(data.length))}` +
            `${xmlElement('StorageClass', 'STANDARD')}</Contents>`,
        );
      } else {
        commonPrefixes.push(`<CommonPrefixes>${xmlElement('Prefix', encode(entry))}</CommonPrefixes>`);
      }
    }

    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      xmlElement('Name', bucket) +
      xmlElement('Prefix', encode(prefix)) +
      (delimiter ? xmlElement('Delimiter', encode(delimiter)) : '') +
      xmlElement('MaxKeys', String(maxKeys)) +
      xmlElement('KeyCount', String(contents.length + commonPrefixes.length)) +
      xmlElement('IsTruncated', String(truncated)) +
      (token !== null ? xmlElement('ContinuationToken', token) : '') +
      (truncated ? xmlElement('NextContinuationToken', Buffer.from(last).toString('base64url')) : '') +
      (startAfter ? xmlElement('StartAfter', encode(startAfter)) : '') +
      (query.get('encoding-type') === 'url' ? xmlElement('EncodingType', 'url') : '') +
      contents.join('') +
      commonPrefixes.join('') +
      '</ListBucketResult>';
    return { status: 200, headers: { 'content-type': 'application/xml', 'x-amz-request-id': randomUUID() }, body };
  }

  return { ...server, objects };
}

const LOOPBACK_TEXT_LIMIT =
  'loopback.ts exchanges bodies with fakes as UTF-8 text (request bodies JSON-parsed when possible), so only bytes that survive that can be faked';

function userMetadataOf(request: RecordedRequest): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of Object.keys(request.headers)) {
    const value = header(request, name);
    if (name.startsWith('x-amz-meta-') && value !== undefined) found[name] = value;
  }
  return found;
}

function objectHeaders(data: Buffer, meta: ObjectMeta, request: RecordedRequest): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': meta.contentType ?? 'binary/octet-stream',
    etag: etagOf(data),
    'last-modified': meta.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    'x-amz-request-id': randomUUID(),
    ...meta.userMetadata,
  };
  // The SDK asks for checksums on every GetObject and, given one, verifies the body it received:
  // an end-to-end check that the object came back unchanged.
  if (header(request, 'x-amz-checksum-mode') === 'ENABLED') {
    headers['x-amz-checksum-crc32'] = crc32Base64(data);
    headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  return headers;
}

function etagOf(data: Buffer): string {
  return `"${createHash('md5').update(data).digest('hex')}"`;
}

function crc32Base64(data: Buffer): string {
  const digest = Buffer.alloc(4);
  digest.writeUInt32BE(crc32(data));
  return digest.toString('base64');
}

/**
 * The exact bytes a PutObject sent, or why they cannot be known.
 *
 * The SDK sends a buffer or string body as is, with `content-length`, a hex `x-amz-content-sha256`
 * and an `x-amz-checksum-crc32` header. It sends a stream body with `content-encoding: aws-chunked`
 * and `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`: the bytes framed as
 * `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n`, ended by a zero-size chunk and the checksum as
 * a trailer, with the real size in `x-amz-decoded-content-length`.
 */
function recoverUpload(request: RecordedRequest): Buffer | string {
  const chunked =
    /aws-chunked/i.test(header(request, 'content-encoding') ?? '') || (header(request, 'x-amz-content-sha256') ?? '').startsWith('STREAMING-');
  let problem = 'the request had no body';
  for (const text of bodyTextCandidates(request.body)) {
    let bytes: Buffer = Buffer.from(text, 'utf8');
    let fields = headerMap(request);
    let expectedLength = header(request, 'content-length');
    if (chunked) {
      const decoded = decodeAwsChunked(bytes);
      if (typeof decoded === 'string') {
        problem = decoded;
        continue;
      }
      bytes = decoded.data;
      fields = { ...fields, ...decoded.trailers };
      expectedLength = header(request, 'x-amz-decoded-content-length');
    }
    const mismatch = integrityProblem(bytes, expectedLength, fields);
    if (mismatch === undefined) return bytes;
    problem = mismatch;
  }
  return problem;
}

/**
 * Texts the original body may have been, most likely first. startLoopback parses JSON bodies, so a
 * JSON object comes back as a value; re-serialising it in the common layouts recovers what was
 * sent, and integrityProblem() picks the one the client's checksums vouch for.
 */
function bodyTextCandidates(body: unknown): string[] {
  if (body === undefined) return [''];
  // A body that was a JSON string literal (`"x"`) was parsed to `x` as well.
  if (typeof body === 'string') return [body, JSON.stringify(body)];
  const layouts = [JSON.stringify(body), JSON.stringify(body, null, 2), JSON.stringify(body, null, 4), JSON.stringify(body, null, '\t')];
  return [...new Set(layouts.flatMap((text) => [text, `${text}\n`]))];
}

function decodeAwsChunked(framed: Buffer): { data: Buffer; trailers: Record<string, string> } | string {
  const parts: Buffer[] = [];
  let at = 0;
  const readLine = (): string => {
    const end = framed.indexOf('\r\n', at);
    const line = framed.toString('latin1', at, end === -1 ? framed.length : end);
    at = end === -1 ? framed.length : end + 2;
    return line;
  };
  for (;;) {
    const line = readLine();
    const sizeText = line.split(';')[0] ?? '';
    if (!/^[0-9a-f]+$/i.test(sizeText)) return `aws-chunked body has a bad chunk header ${JSON.stringify(line)}`;
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) break;
    if (at + size + 2 > framed.length || framed.toString('latin1', at + size, at + size + 2) !== '\r\n') {
      return `aws-chunked body has a chunk of ${size} bytes that does not end where its header says`;
    }
    parts.push(framed.subarray(at, at + size));
    at += size + 2;
  }
  const trailers: Record<string, string> = {};
  while (at < framed.length) {
    const line = readLine();
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(parts), trailers };
}

/** Checks every length and checksum the client declared that the fake can compute. */
function integrityProblem(data: Buffer, expectedLength: string | undefined, fields: Readonly<Record<string, string | undefined>>): string | undefined {
  if (expectedLength !== undefined && Number(expectedLength) !== data.length) {
    return `the client declared ${expectedLength} bytes, the fake recovered ${data.length}`;
  }
  const digest = (algorithm: string, encoding: 'hex' | 'base64') => (): string => createHash(algorithm).update(data).digest(encoding);
  // x-amz-content-sha256 is a hex digest unless it names a streaming or unsigned mode.
  const payloadHash = fields['x-amz-content-sha256'];
  const checks: [name: string, expected: string | undefined, actual: () => string][] = [
    ['x-amz-content-sha256', payloadHash && /^[0-9a-f]{64}$/i.test(payloadHash) ? payloadHash.toLowerCase() : undefined, digest('sha256', 'hex')],
    ['content-md5', fields['content-md5'], digest('md5', 'base64')],
    ['x-amz-checksum-crc32', fields['x-amz-checksum-crc32'], () => crc32Base64(data)],
    ['x-amz-checksum-sha256', fields['x-amz-checksum-sha256'], digest('sha256', 'base64')],
    ['x-amz-checksum-sha1', fields['x-amz-checksum-sha1'], digest('sha1', 'base64')],
  ];
  for (const [name, expected, actual] of checks) {
    if (expected !== undefined && expected !== actual()) return `${name} does not match the bytes the fake recovered`;
  }
  return undefined;
}

function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function xmlElement(name: string, text: string): string {
  return `<${name}>${xmlEscape(text)}</${name}>`;
}

/** S3's error document; the SDK names the thrown error after `<Code>` (NoSuchKey, BadDigest, …). */
function s3Error(status: number, code: string, message: string, extra: Record<string, string> = {}): LoopbackReply {
  const requestId = randomUUID();
  const details = Object.entries(extra)
    .map(([name, value]) => xmlElement(name, value))
    .join('');
  return {
    status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    body:
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error>${xmlElement('Code', code)}${xmlElement('Message', message)}${details}${xmlElement('RequestId', requestId)}</Error>`,
  };
}

// ---------------------------------------------------------------------------------------------
// awsJson1_1 services: POST / with `X-Amz-Target: <prefix>.<Operation>`

const JSON_1_1 = 'application/x-amz-json-1.1';

function jsonReply(body: unknown): LoopbackReply {
  return { status: 200, headers: { 'content-type': JSON_1_1, 'x-amzn-requestid': randomUUID() }, body };
}

/** The SDK names an awsJson error after the body's `__type` (any `namespace#` before it is dropped). */
function jsonError(status: number, type: string, message: string): LoopbackReply {
  return { status, headers: { 'content-type': JSON_1_1, 'x-amzn-requestid': randomUUID() }, body: { __type: type, message } };
}

/** An error reply when the request is not the one operation the fake serves. */
function wrongOperation(request: RecordedRequest, target: string): LoopbackReply | undefined {
  const sent = header(request, 'x-amz-target');
  if (request.method === 'POST' && request.path === '/' && sent === target) return undefined;
  return jsonError(400, 'UnknownOperationException', `the fake serves POST / ${target}, not ${request.method} ${request.path} ${sent ?? '(no X-Amz-Target)'}`);
}

// ---------------------------------------------------------------------------------------------
// EventBridge PutEvents

/** One event as it landed on the bus. */
export interface RecordedEvent {
  readonly Source?: string;
  readonly DetailType?: string;
  /** Detail parsed from its JSON string. */
  readonly Detail: unknown;
  /** `default` when the entry named no bus, as EventBridge does. */
  readonly EventBusName: string;
  readonly Resources?: readonly string[];
}

export interface EventBridgeFake extends FakeBase {
  /** Accepted entries only, in order; failed ones show up in `requests` alone. */
  readonly entries: RecordedEvent[];
}

export interface EventBridgeFakeOptions {
  /** Fail this many entries, counted across calls from the first one, so a retry of them succeeds. */
  readonly failEntries?: number;
  /** The ErrorCode of a failed entry. */
  readonly errorCode?: string;
}

interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
  readonly Resources?: string[];
}

export async function startEventBridgeFake(options: EventBridgeFakeOptions = {}): Promise<EventBridgeFake> {
  const entries: RecordedEvent[] = [];
  let failuresLeft = options.failEntries ?? 0;

  const server = await startLoopback((request): LoopbackReply => {
    const wrong = wrongOperation(request, 'AWSEvents.PutEvents');
    if (wrong) return wrong;
    const sent = (request.body as { Entries?: PutEventsEntry[] } | undefined)?.Entries;
    // The service's own limit; a batching bug should fail here as it would in AWS.
    if (!Array.isArray(sent) || sent.length < 1 || sent.length > 10) {
      const count = Array.isArray(sent) ? sent.length : 'none';
      return jsonError(
        400,
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10 (got ${count})`,
      );
    }

    const results = sent.map((entry) => {
      if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
        return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source, DetailType and Detail are required.' };
      }
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail);
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      }
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        return { ErrorCode: options.errorCode ?? 'InternalFailure', ErrorMessage: 'Failed by the fake (failEntries).' };
      }
      entries.push({
        Source: entry.Source,
        DetailType: entry.DetailType,
        Detail: detail,
        EventBusName: entry.EventBusName ?? 'default',
        ...(entry.Resources ? { Resources: entry.Resources } : {}),
      });
      return { EventId: randomUUID() };
    });
    return jsonReply({ FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
  });
  return { ...server, entries };
}

// ---------------------------------------------------------------------------------------------
// Lambda Invoke (restJson): POST /2015-03-31/functions/{FunctionName}/invocations

export type LambdaFakeHandler = (payload: unknown) => unknown | Promise<unknown>;

export interface RecordedInvocation {
  /** The name part of whatever the caller passed: a name, `name:alias`, or a full or partial ARN. */
  readonly functionName: string;
  readonly qualifier?: string;
  readonly invocationType: string;
  readonly payload: unknown;
  /** The durable execution's name, when the caller gave one. */
  readonly durableExecutionName?: string;
}

export interface LambdaFake extends FakeBase {
  readonly invocations: RecordedInvocation[];
  /** Durable execution callbacks completed (SendDurableExecutionCallbackSuccess), with their result. */
  readonly callbacks: { readonly callbackId: string; readonly result: unknown }[];
  /** Durable executions stopped (StopDurableExecution). */
  readonly stopped: { readonly executionArn: string; readonly error: unknown }[];
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?(.*))?$/;
const CALLBACK_PATH = /^\/2025-12-01\/durable-execution-callbacks\/([^/?]+)\/succeed$/;
const STOP_PATH = /^\/2025-12-01\/durable-executions\/([^/?]+)\/stop$/;

export async function startLambdaFake(handlers: Record<string, LambdaFakeHandler>): Promise<LambdaFake> {
  const invocations: RecordedInvocation[] = [];
  const callbacks: LambdaFake['callbacks'][number][] = [];
  const stopped: LambdaFake['stopped'][number][] = [];

  const server = await startLoopback(async (request): Promise<LoopbackReply> => {
    const callback = CALLBACK_PATH.exec(request.path);
    if (request.method === 'POST' && callback) {
      callbacks.push({ callbackId: decodeURIComponent(callback[1]!), result: request.body });
      return { status: 200, headers: { 'x-amzn-requestid': randomUUID() }, body: {} };
    }
    const stop = STOP_PATH.exec(request.path);
    if (request.method === 'POST' && stop) {
      stopped.push({ executionArn: decodeURIComponent(stop[1]!), error: request.body });
      return { status: 200, headers: { 'x-amzn-requestid': randomUUID() }, body: { StopTimestamp: Math.floor(Date.now() / 1000) } };
    }
    const match = INVOKE_PATH.exec(request.path);
    if (request.method !== 'POST' || !match) {
      return lambdaError(404, 'UnknownOperationException', `the fake serves Invoke only, not ${request.method} ${request.path}`);
    }
    const { name, qualifier: inName } = splitFunctionName(decodeURIComponent(match[1] ?? ''));
    const qualifier = new URLSearchParams(match[2] ?? '').get('Qualifier') ?? inName;
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    if (!handler) {
      const arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
      return lambdaError(404, 'ResourceNotFoundException', `Function not found: ${arn}`);
    }

    // startLoopback hands over non-JSON text as a string, and a JSON string literal parsed to a
    // string too; only the former is shorter than or equal to the bytes sent. Lambda refuses it.
    const payloadText = typeof request.body === 'string' && Buffer.byteLength(request.body) === Number(header(request, 'content-length'));
    if (payloadText) return lambdaError(400, 'InvalidRequestContentException', 'Could not parse request body into json');
    // An invocation without a payload reaches the function as an empty object.
    const payload = request.body === undefined ? {} : request.body;

    const invocationType = header(request, 'x-amz-invocation-type') ?? 'RequestResponse';
    if (invocationType === 'DryRun') return { status: 204, headers: { 'x-amzn-requestid': randomUUID() }, body: '' };
    const durableExecutionName = header(request, 'x-amz-durable-execution-name');
    invocations.push({ functionName: name, ...(qualifier ? { qualifier } : {}), invocationType, payload, ...(durableExecutionName && { durableExecutionName }) });

    const headers = { 'x-amzn-requestid': randomUUID(), 'x-amz-executed-version': '$LATEST' };
    let result: unknown;
    try {
      result = await handler(payload);
    } catch (error) {
      if (invocationType === 'Event') return { status: 202, headers, body: '' };
      // Real Lambda reports a thrown error as a successful call with a flag and the error as payload.
      const err = error instanceof Error ? error : new Error(String(error));
      return {
        status: 200,
        headers: { ...headers, 'x-amz-function-error': 'Unhandled' },
        body: JSON.stringify({ errorType: err.name, errorMessage: err.message, trace: (err.stack ?? '').split('\n') }),
      };
    }
    // An asynchronous invocation is only queued in AWS; the fake runs it before answering so a
    // test can assert its effects as soon as send() resolves.
    if (invocationType === 'Event') return { status: 202, headers, body: '' };
    // The function's return value is JSON-serialised, so a string comes back quoted and
    // undefined comes back as null.
    return { status: 200, headers, body: JSON.stringify(result ?? null) };
  });
  return { ...server, invocations, callbacks, stopped };
}

function splitFunctionName(raw: string): { name: string; qualifier?: string } {
  const parts = raw.split(':');
  // arn:aws:lambda:region:account:function:name[:qualifier] or account:function:name[:qualifier]
  const at = parts[0] === 'arn' ? 6 : parts[1] === 'function' ? 2 : 0;
  const name = parts[at] ?? '';
  const qualifier = parts[at + 1];
  return qualifier ? { name, qualifier } : { name };
}

/** Lambda's restJson error; the SDK takes the error's name from `x-amzn-errortype`. */
function lambdaError(status: number, type: string, message: string): LoopbackReply {
  return {
    status,
    headers: { 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() },
    body: { Type: 'User', message },
  };
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager GetSecretValue

export type SecretsManagerFake = FakeBase;

export async function startSecretsManagerFake(secrets: Record<string, string>): Promise<SecretsManagerFake> {
  // Real secret ARNs end in a dash and six random characters; a caller may use either form.
  const arnOf = (name: string): string => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-Fake01`;
  const versions = new Map(Object.keys(secrets).map((name) => [name, randomUUID()]));
  const versionOf = (name: string): string | undefined => versions.get(name);

  return startLoopback((request): LoopbackReply => {
    const wrong = wrongOperation(request, 'secretsmanager.GetSecretValue');
    if (wrong) return wrong;
    const input = (request.body ?? {}) as { SecretId?: string; VersionId?: string; VersionStage?: string };
    const name = Object.keys(secrets).find((candidate) => input.SecretId === candidate || input.SecretId === arnOf(candidate));
    const found =
      name !== undefined &&
      (input.VersionId === undefined || input.VersionId === versionOf(name)) &&
      (input.VersionStage === undefined || input.VersionStage === 'AWSCURRENT');
    if (!found) return jsonError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return jsonReply({
      ARN: arnOf(name),
      Name: name,
      VersionId: versionOf(name),
      SecretString: secrets[name],
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Math.floor(Date.now() / 1000),
    });
  });
}

// ---------------------------------------------------------------------------------------------
// SQS (awsJson1_0): SendMessage, ReceiveMessage with long polling and visibility timeouts,
// DeleteMessage, ChangeMessageVisibility. Enough of a queue to consume as Lambda or a container does.

export interface SentMessage {
  readonly queueUrl: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** A message in the fake queue, with what SQS tracks of it. */
export interface QueuedMessage {
  readonly messageId: string;
  readonly queueUrl: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, { DataType: string; StringValue?: string }>>;
  receives: number;
  /** Hidden until then (epoch ms); 0 while visible. */
  invisibleUntil: number;
  receipt?: string;
  deleted: boolean;
}

export interface SqsFake extends FakeBase {
  readonly sent: SentMessage[];
  /** Every message the queue has held, deleted ones included (flagged). */
  readonly messages: QueuedMessage[];
  /** Puts a message on a queue as a producer would. */
  push(queueUrl: string, body: string, attributes?: Record<string, string>): QueuedMessage;
}

export interface SqsFakeOptions {
  /** Seconds a received message stays hidden. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
}

export async function startSqsFake(options: SqsFakeOptions = {}): Promise<SqsFake> {
  const sent: SentMessage[] = [];
  const messages: QueuedMessage[] = [];
  const waiting = new Set<() => void>();
  const push = (queueUrl: string, body: string, attributes: Record<string, { DataType: string; StringValue?: string }> = {}): QueuedMessage => {
    const message: QueuedMessage = { messageId: randomUUID(), queueUrl, body, attributes, receives: 0, invisibleUntil: 0, deleted: false };
    messages.push(message);
    for (const wake of waiting) wake();
    return message;
  };
  const visible = (queueUrl: string) => messages.filter((m) => m.queueUrl === queueUrl && !m.deleted && m.invisibleUntil <= Date.now());
  const ok = (body: unknown): LoopbackReply => ({ status: 200, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() }, body });
  const byReceipt = (receipt: string) => messages.find((m) => m.receipt === receipt && !m.deleted);
  const server = await startLoopback(async (request): Promise<LoopbackReply> => {
    const target = header(request, 'x-amz-target') ?? '';
    const input = request.body as Record<string, unknown>;
    switch (target) {
      case 'AmazonSQS.SendMessage': {
        const { QueueUrl, MessageBody, MessageAttributes } = input as { QueueUrl: string; MessageBody: string; MessageAttributes?: Record<string, { DataType: string; StringValue?: string }> };
        sent.push({ queueUrl: QueueUrl, body: MessageBody, attributes: Object.fromEntries(Object.entries(MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? ''])) });
        const message = push(QueueUrl, MessageBody, MessageAttributes ?? {});
        // The SQS client checks the body's MD5 against the one the service reports.
        return ok({ MessageId: message.messageId, MD5OfMessageBody: createHash('md5').update(MessageBody).digest('hex') });
      }
      case 'AmazonSQS.ReceiveMessage': {
        const { QueueUrl, MaxNumberOfMessages = 1, WaitTimeSeconds = 0, VisibilityTimeout } = input as { QueueUrl: string; MaxNumberOfMessages?: number; WaitTimeSeconds?: number; VisibilityTimeout?: number };
        const until = Date.now() + Math.min(WaitTimeSeconds, 20) * 1000;
        while (visible(QueueUrl).length === 0 && Date.now() < until) {
          await new Promise<void>((resolve) => {
            const wake = () => (waiting.delete(wake), clearTimeout(timer), resolve());
            // Wake at the deadline, when a message arrives, or when a hidden one becomes visible.
            const timer = setTimeout(wake, Math.min(250, until - Date.now()));
            waiting.add(wake);
          });
        }
        const taken = visible(QueueUrl).slice(0, MaxNumberOfMessages);
        const hideFor = (VisibilityTimeout ?? options.visibilityTimeoutSeconds ?? 30) * 1000;
        return ok({
          Messages: taken.map((m) => {
            m.receives += 1;
            m.invisibleUntil = Date.now() + hideFor;
            m.receipt = randomUUID();
            return {
              MessageId: m.messageId,
              ReceiptHandle: m.receipt,
              Body: m.body,
              MD5OfBody: createHash('md5').update(m.body).digest('hex'),
              Attributes: { ApproximateReceiveCount: String(m.receives), SentTimestamp: String(Date.now()) },
              ...(Object.keys(m.attributes).length && { MessageAttributes: m.attributes }),
            };
          }),
        });
      }
      case 'AmazonSQS.DeleteMessage': {
        const message = byReceipt((input as { ReceiptHandle: string }).ReceiptHandle);
        if (!message) return jsonError(400, 'ReceiptHandleIsInvalid', 'no message has this receipt handle');
        message.deleted = true;
        return ok({});
      }
      case 'AmazonSQS.ChangeMessageVisibility': {
        const { ReceiptHandle, VisibilityTimeout } = input as { ReceiptHandle: string; VisibilityTimeout: number };
        const message = byReceipt(ReceiptHandle);
        if (!message) return jsonError(400, 'ReceiptHandleIsInvalid', 'no message has this receipt handle');
        message.invisibleUntil = VisibilityTimeout === 0 ? 0 : Date.now() + VisibilityTimeout * 1000;
        for (const wake of waiting) wake();
        return ok({});
      }
      default:
        return jsonError(400, 'UnknownOperationException', `the fake serves SendMessage, ReceiveMessage, DeleteMessage and ChangeMessageVisibility, not ${target || '(no X-Amz-Target)'}`);
    }
  });
  return {
    ...server,
    sent,
    messages,
    push: (queueUrl, body, attributes = {}) => push(queueUrl, body, Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]))),
  };
}

/** Where each fake an agent's runtime calls listens. */
export interface LoopbackAwsEndpoints {
  readonly bedrock: string;
  readonly s3: string;
  readonly eventBridge: string;
  readonly dynamoDb: string;
  readonly sqs: string;
  readonly secretsManager: string;
  readonly anthropic: string;
}

/**
 * The environment Lambda gives an agent's function, with every client pointed at a loopback fake
 * through the SDK's per-service endpoint variables, and test credentials.
 */
export function loopbackAwsEnvironment(endpoints: LoopbackAwsEndpoints): Record<string, string> {
  return {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_LAMBDA_FUNCTION_NAME: 'support-agent',
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: endpoints.bedrock,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventBridge,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoDb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
    ANTHROPIC_BASE_URL: endpoints.anthropic,
  };
}
