import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { RunInterrupted } from '../entry/queued';

/**
 * The container host of the shared runtime (roadmap stage 3): one Node process that serves the
 * runtime over HTTP, as Amazon Bedrock AgentCore Runtime expects (`POST /invocations`, `GET /ping`
 * on port 8080), and takes the agent's work from its queue (SQS on ECS Fargate, Service Bus on
 * Azure Container Apps), a few messages at a time. The cloud adapters (aws.ts, azure.ts) bring the
 * same entry points the functions run, so a run in a container is the run a function would do.
 *
 * Shutdown (SIGTERM from ECS or Container Apps scaling in or deploying) never drops work: the host
 * stops taking messages and requests, gives the runs under way the grace period to finish, then
 * stops the rest, whose records go back to `queued` and whose messages go back to the queue at once,
 * as new deliveries (an interruption is not counted against the message).
 */

/** What the host does with a message once its run is over. */
export type Settlement = 'done' | 'retry' | 'hand-back';

/** The agent's queue, as the host consumes it. */
export interface QueueSource<M> {
  /** Up to `max` messages, waiting (long polling, a few seconds at most) until one arrives. */
  receive(max: number): Promise<M[]>;
  /** Runs one message through the runtime; a run the host stopped rejects with RunInterrupted. */
  run(message: M, stop: AbortSignal): Promise<unknown>;
  /**
   * `done`: delete it. `retry`: leave it to the queue's redelivery (after the visibility timeout,
   * or abandoned), counted as a delivery. `hand-back`: return it now as a fresh delivery.
   */
  settle(message: M, how: Settlement): Promise<void>;
  /** A message's id, for the logs. */
  id(message: M): string;
  close(): Promise<void>;
}

/** The agent as the HTTP side sees it. */
export interface InvocationTarget {
  /**
   * Runs one request body now and answers it (the API's `POST /agents/{name}/invocations`). Who
   * called is the platform's to say (AgentCore checks the IAM signature before the request reaches
   * the container); no header of the request names it, since anyone could set one.
   */
  invoke(body: unknown, request: { readonly requestId: string }): Promise<{ readonly status: number; readonly body: unknown }>;
}

export interface ContainerHostOptions<M> {
  readonly target?: InvocationTarget;
  readonly queue?: QueueSource<M>;
  /** @default 8080, AgentCore Runtime's port */
  readonly port?: number;
  /** @default all interfaces, as a container's port mapping needs */
  readonly host?: string;
  /** Messages run at once. @default 1 */
  readonly concurrency?: number;
  /** How long runs under way may take to finish once asked to stop, before they are handed back. @default 25 s */
  readonly graceMs?: number;
  /** Where the host's own lines go. @default stdout, one JSON object per line */
  readonly log?: (entry: Record<string, unknown>) => void;
}

/** The largest request body `POST /invocations` takes: the API's own 10 MB would be too much for one run's prompt. */
const MAX_BODY_BYTES = 1024 * 1024;

export class ContainerHost<M> {
  private readonly server: Server;
  private readonly inFlight = new Map<Promise<void>, string>();
  private readonly polling = new AbortController();
  /** Settles when the host begins to stop: one listener for the host's life, however often the loop waits. */
  private readonly stopping = new Promise<void>((resolve) => this.polling.signal.addEventListener('abort', () => resolve(), { once: true }));
  /** Aborted when the grace period ends: the runs still going stop and are handed back. */
  private readonly stopRuns = new AbortController();
  private draining = false;
  private busy = 0;
  private lastUpdate = Date.now();
  private loop?: Promise<void>;
  private stopped?: Promise<void>;
  private readonly log: (entry: Record<string, unknown>) => void;

  constructor(private readonly options: ContainerHostOptions<M>) {
    this.log = options.log ?? ((entry) => console.log(JSON.stringify(entry)));
    this.server = createServer((req, res) => void this.serve(req, res));
    // A connection left idle must not hold shutdown up.
    this.server.keepAliveTimeout = 5_000;
  }

  /** Listens and starts consuming; resolves with the port once requests are served. */
  async start(): Promise<number> {
    const port = await new Promise<number>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 8080, this.options.host, () => resolve((this.server.address() as { port: number }).port));
    });
    if (this.options.queue) this.loop = this.consume(this.options.queue);
    this.log({ message: 'container host started', port, consuming: Boolean(this.options.queue), concurrency: this.concurrency });
    return port;
  }

  /** Stops as described above; calling it again returns the same promise. */
  stop(reason = 'stop requested'): Promise<void> {
    return (this.stopped ??= this.shutdown(reason));
  }

  private get concurrency(): number {
    return Math.max(1, this.options.concurrency ?? 1);
  }

  private async shutdown(reason: string): Promise<void> {
    this.draining = true;
    this.log({ message: 'container host stopping', reason, inFlight: [...this.inFlight.values()] });
    const grace = this.options.graceMs ?? 25_000;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace over'>((resolve) => (timer = setTimeout(() => resolve('grace over'), grace)));
    // Wakes the loop if it waits for room; a receive under way is left to return (a long poll
    // abandoned by its client may still take messages, hidden then for the visibility timeout),
    // and what it returns is handed back at once.
    this.polling.abort();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await this.loop;
    if ((await Promise.race([Promise.all([...this.inFlight.keys()]).then(() => 'finished' as const), graceOver])) === 'grace over') {
      this.log({ message: 'grace period over: stopping the runs still going and handing their messages back', inFlight: [...this.inFlight.values()] });
      this.stopRuns.abort();
      await Promise.all([...this.inFlight.keys()]);
    }
    clearTimeout(timer);
    await this.options.queue?.close();
    // A request still being answered finishes first; it was taken before the host began to stop.
    await closed;
    this.log({ message: 'container host stopped' });
  }

  private async consume(queue: QueueSource<M>): Promise<void> {
    while (!this.draining) {
      const room = this.concurrency - this.inFlight.size;
      if (room <= 0) {
        await Promise.race([...this.inFlight.keys(), this.stopping]);
        continue;
      }
      let messages: M[];
      try {
        messages = await queue.receive(room);
      } catch (e) {
        if (this.draining) break;
        this.log({ message: 'receiving from the queue failed; trying again', error: (e as Error).message });
        await sleep(1_000, this.polling.signal);
        continue;
      }
      for (const message of messages) this.track(this.process(queue, message), queue.id(message));
    }
  }

  private track(work: Promise<void>, id: string): void {
    const done: Promise<void> = work.finally(() => this.inFlight.delete(done));
    this.inFlight.set(done, id);
  }

  /**
   * One message: run, then settle it by how the run ended; one received while stopping is handed
   * back unrun. A settlement that fails leaves the message to the queue's redelivery.
   */
  private async process(queue: QueueSource<M>, message: M): Promise<void> {
    const id = queue.id(message);
    const how = this.draining ? 'hand-back' : await this.run(queue, message);
    try {
      await queue.settle(message, how);
      if (how === 'hand-back') this.log({ message: 'message handed back to the queue', messageId: id });
    } catch (e) {
      this.log({ message: 'settling a message failed; the queue delivers it again', messageId: id, settlement: how, error: (e as Error).message });
    }
  }

  private async run(queue: QueueSource<M>, message: M): Promise<Settlement> {
    this.busy++;
    try {
      await queue.run(message, this.stopRuns.signal);
      return 'done';
    } catch (e) {
      if (e instanceof RunInterrupted || this.stopRuns.signal.aborted) return 'hand-back';
      this.log({ message: 'run failed; the queue delivers the message again', messageId: queue.id(message), error: (e as Error).message });
      return 'retry';
    } finally {
      this.busy--;
      this.lastUpdate = Date.now();
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/ping') {
        if (req.method !== 'GET') return reply(res, 405, { message: 'GET /ping' });
        // AgentCore Runtime's health contract: Healthy, or HealthyBusy while work is under way.
        if (this.draining) return reply(res, 503, { status: 'Unhealthy', time_of_last_update: seconds(this.lastUpdate) });
        return reply(res, 200, { status: this.busy > 0 ? 'HealthyBusy' : 'Healthy', time_of_last_update: seconds(this.lastUpdate) });
      }
      if (path !== '/invocations') return reply(res, 404, { message: `no route ${path}: the container serves POST /invocations and GET /ping` });
      if (req.method !== 'POST') return reply(res, 405, { message: 'POST /invocations' });
      const target = this.options.target;
      if (!target) return reply(res, 404, { message: 'this agent answers no invocations: it takes its work from its queue' });
      if (this.draining) return reply(res, 503, { message: 'the container is stopping; send the request again' }, { 'retry-after': '1' });
      const raw = await readBody(req);
      if (raw === undefined) return reply(res, 413, { message: `the request body is larger than ${MAX_BODY_BYTES} bytes` });
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return reply(res, 400, { message: 'the request body is not JSON' });
      }
      const requestId = header(req, 'x-amzn-bedrock-agentcore-runtime-request-id') ?? header(req, 'x-request-id') ?? randomUUID();
      this.busy++;
      try {
        const answer = await target.invoke(body, { requestId });
        return reply(res, answer.status, answer.body);
      } finally {
        this.busy--;
        this.lastUpdate = Date.now();
      }
    } catch (e) {
      this.log({ message: 'request failed', path, error: (e as Error).message });
      if (!res.headersSent) reply(res, 500, { message: 'the agent failed to answer' });
    }
  }
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The body, or undefined once it passes the limit. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Waits `ms`, or less if `signal` aborts; the listener goes with the wait. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => (clearTimeout(timer), signal.removeEventListener('abort', done), resolve());
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Stops `host` on SIGTERM and SIGINT, then ends the process. */
export function stopOnSignals(host: ContainerHost<unknown>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void host.stop(signal).then(() => process.exit(0), () => process.exit(1)));
  }
}
