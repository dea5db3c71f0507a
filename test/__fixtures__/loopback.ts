/**
 * A throwaway HTTP server on 127.0.0.1 for tests that point a real client at a fake API.
 *
 * It records every request so a test can assert what the client actually put on the wire, and it
 * cannot outlive the test file: `close()` tears down open connections, and an unref'd safety timer
 * closes a server a test forgot about without itself keeping the process alive.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query exactly as sent, still percent-encoded. */
  readonly path: string;
  /** Lower-case header names, as Node delivers them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body (decompressed when sent gzipped) parsed as JSON; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
}

export interface LoopbackReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Serialised as JSON unless it is already a string. */
  readonly body?: unknown;
}

/**
 * A network fault instead of an answer: `reset` drops the connection (HTTP/2: resets the stream)
 * after reading the request, `hang` never answers, as a stuck upstream does, until the client
 * gives up or the server closes.
 */
export interface LoopbackFault {
  readonly fault: 'reset' | 'hang';
}

export type LoopbackHandler = (request: RecordedRequest, index: number) => LoopbackReply | LoopbackFault | Promise<LoopbackReply | LoopbackFault>;

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface LoopbackOptions {
  /** Serve HTTP/2 over cleartext (h2c, prior knowledge) instead of HTTP/1.1. */
  readonly http2?: boolean;
  /**
   * The safety timer; long enough for any one test file. A benchmark that runs longer sets
   * `LOOPBACK_LIFETIME_MS` for every fake it starts.
   */
  readonly lifetimeMs?: number;
}

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

export async function startLoopback(handler: LoopbackHandler, options: LoopbackOptions = {}): Promise<LoopbackServer> {
  const requests: RecordedRequest[] = [];

  const onRequest = (req: AnyRequest, res: AnyResponse): void => {
    void serve(req, res);
  };

  async function serve(req: AnyRequest, res: AnyResponse): Promise<void> {
    let reply: LoopbackReply | LoopbackFault;
    try {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: { ...req.headers },
        body: parseBody(await readBody(req)),
      };
      const index = requests.length;
      requests.push(recorded);
      reply = await handler(recorded, index);
    } catch (error) {
      // A broken fake should fail the test loudly, not hang it.
      reply = { status: 500, body: { message: `loopback fake failed: ${(error as Error).message}` } };
    }
    if ('fault' in reply) {
      if (reply.fault === 'reset') resetConnection(req, res);
      return;
    }
    const payload = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      ...reply.headers,
    };
    try {
      // Both response flavours share this shape; the union of their overloads does not type-check.
      (res as http.ServerResponse).writeHead(reply.status, headers);
      res.end(payload);
    } catch {
      // The client gave up (timeout, abort) or the server is closing: nobody is left to answer.
    }
  }

  const server = options.http2 ? http2.createServer(onRequest) : http.createServer(onRequest);

  // An HTTP/2 server's close() waits for client sessions, which a pooling client keeps open.
  const sessions = new Set<http2.ServerHttp2Session>();
  if (options.http2) {
    (server as http2.Http2Server).on('session', (session) => {
      sessions.add(session);
      session.on('close', () => sessions.delete(session));
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      clearTimeout(safety);
      server.close(() => resolve());
      if (server instanceof http.Server) server.closeAllConnections();
      for (const session of sessions) session.destroy();
    });
    return closing;
  };
  const safety = setTimeout(() => void close(), options.lifetimeMs ?? Number(process.env.LOOPBACK_LIFETIME_MS ?? 60_000));
  safety.unref();

  return { url: `http://127.0.0.1:${port}`, requests, close };
}

/** Drops the exchange the way a failing peer or load balancer does: the client sees ECONNRESET. */
function resetConnection(req: AnyRequest, res: AnyResponse): void {
  if ('stream' in res) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  else (req as http.IncomingMessage).socket.resetAndDestroy();
}

async function readBody(req: AnyRequest): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  const body = Buffer.concat(chunks);
  // Some clients always compress (the Logs Ingestion API's); the headers still say they did.
  return (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
