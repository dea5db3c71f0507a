import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ID_PATTERN, ID_RULE } from '../../contract/api/ids';
import { parseRequestBody } from '../../contract/api/request';
import type { AuditRecord, RunRecord } from '../core/audit/records';
import { MemoryJobStore } from '../core/jobs/jobs';
import type { JobRecord } from '../../contract/jobs/job-record';
import type { Runtime } from '../entry/assemble';
import { acceptJob, answerOnce } from '../entry/idempotency';
import { deadlineFrom } from '../entry/outcome';
import { jobRun } from '../entry/queued';
import { scheduledRunId } from '../../contract/api/messages';
import { syncTimeoutSeconds } from '../../contract/definition/sync-timeout';
import { DevJobQueue, type DevJobQueueOptions } from './job-queue';
import { DevApprovals } from './approvals';
import { decideApproval } from '../entry/approvals';
import type { Approver } from '../../contract/jobs/approvals';

export interface DevServerOptions extends DevJobQueueOptions {
  /** The agents served, each its runtime as assembled for this process. */
  readonly agents: readonly Runtime[];
  /** What the runs left, for `GET /dev/runs`. @default none kept */
  readonly audit?: { readonly records: readonly AuditRecord[] };
  /** Saves a live run's recorded answers as a transcript; its path, or undefined when the run was not recorded. */
  readonly saveTranscript?: (runId: string) => Promise<string | undefined>;
  /** How each agent runs, for `GET /agents`: live, or replaying which transcript. */
  readonly modes?: Readonly<Record<string, string>>;
  /** Loopback unless told: a dev server holds no authentication. @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0: any free port */
  readonly port?: number;
  /** The largest request body taken, as API Gateway's payload limit. @default 10 MB */
  readonly maxBodyBytes?: number;
}

export interface DevServer {
  readonly url: string;
  readonly queue: DevJobQueue;
  /** The durable runs' calls waiting for a person. */
  readonly approvals: DevApprovals;
  /** Serves `runtime` for its agent from the next request on (a definition reloaded). */
  replace(runtime: Runtime, mode?: string): void;
  close(): Promise<void>;
}

/** A refusal or an answer: the status and the JSON body the deployed API would send. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
}

const ROUTE = /^\/agents\/([^/]+)\/(invocations|jobs)(?:\/([^/]+))?$/;

/**
 * The app's agents behind the deployed API's routes, on a laptop: `POST /agents/{name}/invocations`,
 * `POST /agents/{name}/jobs`, `GET /agents/{name}/jobs/{jobId}`, answered by the same entry points
 * the Lambda and Functions handlers call (the same request contract, idempotency and job records),
 * with jobs on an in-process queue that retries and dead-letters as the clouds' do; and, for what
 * the clouds fire on their own and the console shows: `POST /dev/agents/{name}/schedules/{index}`
 * and `POST /dev/agents/{name}/events`, `GET /dev/dead-letters`, `POST /dev/dead-letters/{id}/redrive`.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const agents = new Map(options.agents.map((r) => [r.config.definition.name, r]));
  const modes = new Map(Object.entries(options.modes ?? {}));
  const approvals = new DevApprovals();
  const queue = new DevJobQueue((name) => agents.get(name)!, { ...options, durable: (runtime, run) => approvals.engine(runtime, run) });
  const server: Server = createServer((request, response) => {
    const asset = request.method === 'GET' ? consoleAsset(new URL(request.url ?? '/', 'http://dev').pathname) : undefined;
    if (asset) {
      response.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' });
      response.end(readFileSync(asset.path));
      return;
    }
    handle(request).then(
      (answer) => reply(response, answer),
      (e: Error) => reply(response, { status: 500, body: { message: `the dev server failed: ${e.message}` } }),
    );
  });

  async function handle(request: IncomingMessage): Promise<Answer> {
    const requestId = randomUUID();
    const refused = foreign(request);
    if (refused) return { status: 403, body: { message: refused, requestId } };
    const path = new URL(request.url ?? '/', 'http://dev').pathname;
    if (request.method === 'GET' && path === '/agents') return { status: 200, body: { agents: [...agents.values()].map((r) => describeAgent(r, modes.get(r.config.definition.name))) } };
    if (request.method === 'GET' && path === '/dev/runs') return { status: 200, body: { runs: runsOf(options.audit?.records ?? []) } };
    const save = /^\/dev\/runs\/([^/]+)\/transcript$/.exec(path);
    if (request.method === 'POST' && save) {
      const path = await options.saveTranscript?.(decodeURIComponent(save[1]!));
      return path ? { status: 201, body: { path } } : { status: 404, body: { message: `run ${save[1]} ran no live model here (a replayed run already is a transcript), so there is nothing to save`, requestId } };
    }
    const run = /^\/dev\/runs\/([^/]+)$/.exec(path);
    if (request.method === 'GET' && run) {
      const records = (options.audit?.records ?? []).filter((r) => r.runId === decodeURIComponent(run[1]!));
      // A run leaves its records when it ends: one still going (waiting for a person) has none yet.
      return { status: 200, body: { records } };
    }
    if (request.method === 'GET' && path === '/dev/dead-letters') return { status: 200, body: { deadLetters: queue.deadLetters() } };
    const redrive = /^\/dev\/dead-letters\/([^/]+)\/redrive$/.exec(path);
    if (request.method === 'POST' && redrive) {
      return queue.redrive(decodeURIComponent(redrive[1]!)) ? { status: 202, body: { redriven: redrive[1] } } : { status: 404, body: { message: `no dead letter ${redrive[1]}` } };
    }
    if (request.method === 'GET' && path === '/dev/jobs') return { status: 200, body: { jobs: jobsOf([...agents.values()]) } };
    if (request.method === 'GET' && path === '/dev/approvals') return { status: 200, body: { approvals: approvals.pending() } };
    const approve = /^\/agents\/([^/]+)\/jobs\/([^/]+)\/approvals$/.exec(path);
    if (approve) {
      if (request.method !== 'POST') return methodNotAllowed(request, requestId);
      const runtime = agents.get(decodeURIComponent(approve[1]!));
      if (!runtime) return { status: 404, body: { message: `no agent ${approve[1]}`, requestId } };
      if (!runtime.config.definition.durable) return { status: 404, body: { message: `agent ${approve[1]} is not durable: its runs never wait for approval`, requestId } };
      const raw = await readJson(request, options.maxBodyBytes ?? 10 * 1024 * 1024);
      if ('problem' in raw) return { status: raw.status, body: { message: raw.problem, requestId } };
      const jobId = decodeURIComponent(approve[2]!);
      return decideApproval(runtime, { jobId, approver: devApprover(request), body: raw.value, requestId }, (waiting, decision) => approvals.resume(jobId, waiting, decision));
    }
    const fire = /^\/dev\/agents\/([^/]+)\/(schedules\/(\d+)|events)$/.exec(path);
    if (request.method === 'POST' && fire) return fireTrigger(request, decodeURIComponent(fire[1]!), fire[3], requestId);
    const route = ROUTE.exec(path);
    if (!route) return { status: 404, body: { message: `no route ${request.method} ${path}`, requestId } };
    const [, name, kind, jobId] = route;
    const runtime = agents.get(decodeURIComponent(name!));
    if (!runtime) return { status: 404, body: { message: `no agent ${name} (this app has ${[...agents.keys()].join(', ')})`, requestId } };
    const { definition } = runtime.config;
    if (kind === 'jobs' && jobId !== undefined) {
      if (request.method !== 'GET') return methodNotAllowed(request, requestId);
      if (!ID_PATTERN.test(jobId)) return { status: 400, body: { message: `a job id ${ID_RULE}` } };
      const record = await runtime.jobs?.get(jobId);
      return record ? { status: 200, body: record } : { status: 404, body: { message: `no job ${jobId} for agent ${definition.name}` } };
    }
    if (request.method !== 'POST') return methodNotAllowed(request, requestId);
    const routeOf = kind === 'jobs' ? 'job' : 'api';
    if (!definition.triggers.some((t) => t.type === routeOf)) return { status: 404, body: { message: `agent ${definition.name} has no ${routeOf} trigger, so no ${kind} route`, requestId } };
    const raw = await readJson(request, options.maxBodyBytes ?? 10 * 1024 * 1024);
    if ('problem' in raw) return { status: raw.status, body: { message: raw.problem, requestId } };
    const parsed = parseRequestBody(raw.value);
    // As the deployed API refuses a body its model rejects.
    if (!parsed.ok) return { status: 400, body: { message: `invalid request body: ${parsed.problems.join('; ')}`, problems: parsed.problems, requestId } };
    const answer =
      kind === 'jobs'
        ? await acceptJob(runtime, parsed.body, { newJobId: requestId, statusUrl: (id) => `/agents/${definition.name}/jobs/${id}` }, async (job) => queue.send(definition.name, jobRun(job.jobId, job.body, parseRequestBody)))
        : await answerOnce(runtime, parsed.body, { requestId, deadline: deadlineFrom(syncTimeoutSeconds(definition) * 1000) });
    return answer;
  }

  /**
   * A schedule's firing or an event, on demand: put on the agent's queue as its rule would put it,
   * the schedule's input as the run's, the event as the run's input.
   */
  async function fireTrigger(request: IncomingMessage, name: string, scheduleIndex: string | undefined, requestId: string): Promise<Answer> {
    const runtime = agents.get(name);
    if (!runtime) return { status: 404, body: { message: `no agent ${name}` } };
    const { definition } = runtime.config;
    if (scheduleIndex !== undefined) {
      const schedule = definition.triggers.filter((t) => t.type === 'schedule')[Number(scheduleIndex)];
      if (!schedule || schedule.type !== 'schedule') return { status: 404, body: { message: `agent ${name} has no schedule ${scheduleIndex} (it has ${definition.triggers.filter((t) => t.type === 'schedule').length})` } };
      const runId = scheduledRunId(new Date().toISOString().slice(0, 16));
      queue.send(name, { runId: `${runId}-${requestId.slice(0, 8)}`, trigger: 'schedule', input: schedule.input });
      return { status: 202, body: { runId: `${runId}-${requestId.slice(0, 8)}`, trigger: 'schedule' } };
    }
    if (!definition.triggers.some((t) => t.type === 'event')) return { status: 404, body: { message: `agent ${name} has no event trigger` } };
    const raw = await readJson(request, options.maxBodyBytes ?? 10 * 1024 * 1024);
    if ('problem' in raw) return { status: raw.status, body: { message: raw.problem, requestId } };
    if (raw.value === null || typeof raw.value !== 'object' || Array.isArray(raw.value)) return { status: 400, body: { message: 'an event is a JSON object', requestId } };
    queue.send(name, { runId: requestId, trigger: 'event', input: raw.value as Record<string, unknown> });
    return { status: 202, body: { runId: requestId, trigger: 'event' } };
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  const loopback = ['127.0.0.1', '::1'].includes(address);
  const selfUrl = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  /**
   * Why a request from a web page of another site is refused, or undefined: nothing authenticates
   * this server, so a page elsewhere must not drive it (a cross-site POST), nor reach it through a
   * name that resolves to this machine (DNS rebinding) while it listens on loopback.
   */
  function foreign(request: IncomingMessage): string | undefined {
    const origin = request.headers.origin;
    if (origin && origin !== selfUrl && !(loopback && /^http:\/\/(localhost|127\.0\.0\.1|\[::1\]):\d+$/.test(origin) && origin.endsWith(`:${port}`))) return `requests from ${origin} are refused: the dev server takes its own console's`;
    const host = (request.headers.host ?? '').replace(/:\d+$/, '');
    if (loopback && !['127.0.0.1', 'localhost', '[::1]'].includes(host)) return `host ${host} is refused: the dev server listens on loopback`;
    return undefined;
  }
  return {
    url: selfUrl,
    queue,
    approvals,
    replace: (runtime, mode) => {
      agents.set(runtime.config.definition.name, runtime);
      if (mode) modes.set(runtime.config.definition.name, mode);
    },
    close: async () => {
      approvals.abandon('the dev server stopped');
      await queue.idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The console's files, served as they are (no build step): its page, script and styles, and Preact and htm from the installed packages. */
function consoleAsset(path: string): { path: string; type: string } | undefined {
  const here = join(__dirname, 'console');
  const files: Record<string, [string, string]> = {
    '/': [join(here, 'index.html'), 'text/html; charset=utf-8'],
    '/console': [join(here, 'index.html'), 'text/html; charset=utf-8'],
    '/console/': [join(here, 'index.html'), 'text/html; charset=utf-8'],
    '/console/app.mjs': [join(here, 'app.mjs'), 'text/javascript; charset=utf-8'],
    '/console/console.css': [join(here, 'console.css'), 'text/css; charset=utf-8'],
    '/console/vendor/preact.mjs': [require.resolve('preact'), 'text/javascript; charset=utf-8'],
    '/console/vendor/hooks.mjs': [require.resolve('preact/hooks'), 'text/javascript; charset=utf-8'],
    '/console/vendor/htm.mjs': [join(dirname(require.resolve('htm')), 'htm.mjs'), 'text/javascript; charset=utf-8'],
  };
  const file = files[path];
  return file && { path: file[0], type: file[1] };
}

/** An agent as `GET /agents` lists it: what its definition says and how it runs here. */
function describeAgent(runtime: Runtime, mode: string | undefined) {
  const { definition, route } = runtime.config;
  return {
    name: definition.name,
    description: definition.description,
    cohort: definition.cohort,
    version: definition.version,
    promptVersion: definition.promptVersion,
    triggers: definition.triggers.map((t) => t.type),
    tools: definition.tools.map((t) => ({ name: t.name, kind: t.kind, description: t.description })),
    skills: definition.skills,
    route: route.map((t) => `${t.provider}/${t.model}`),
    routes: [...(definition.triggers.some((t) => t.type === 'api') ? [`POST /agents/${definition.name}/invocations`] : []), ...(definition.triggers.some((t) => t.type === 'job') ? [`POST /agents/${definition.name}/jobs`, `GET /agents/${definition.name}/jobs/{jobId}`] : [])],
    ...(mode && { mode }),
  };
}

/** Every job of the agents (kept in memory here) at its latest state, the latest first. */
function jobsOf(runtimes: readonly Runtime[]) {
  const latest = new Map<string, JobRecord>();
  for (const runtime of runtimes) {
    if (!(runtime.jobs instanceof MemoryJobStore)) continue;
    for (const record of runtime.jobs.history) latest.set(`${record.agent}/${record.jobId}`, record);
  }
  return [...latest.values()]
    .map((r) => ({ agent: r.agent, jobId: r.jobId, status: r.status, updatedAt: r.updatedAt, ...(r.deliveries !== undefined && { deliveries: r.deliveries }), ...(r.error && { error: r.error }), ...(r.chain && { chain: r.chain }) }))
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}

/** Each attempt at a run as a line of `GET /dev/runs`, the latest first. */
function runsOf(records: readonly AuditRecord[]) {
  return records
    .filter((r): r is RunRecord => r.type === 'run')
    .map((r) => ({
      runId: r.runId,
      attempt: r.attempt,
      agent: r.agent,
      trigger: r.trigger,
      startedAt: r.startedAt,
      durationMs: r.durationMs,
      stopReason: r.stopReason,
      outcome: r.outcome,
      steps: r.steps,
      costUsd: r.costUsd,
      definitionVersion: r.definitionVersion,
      correlationId: r.correlationId,
      output: r.output,
      ...(r.chain && { hop: r.chain.hop, kind: r.chain.kind, parentAgent: r.chain.parentAgent }),
    }))
    .reverse();
}

/**
 * Who decides on this machine: `x-dev-approver` (an identity, as the deployed API reports one) and
 * `x-dev-roles` (comma-separated), or `developer` with no roles; matched against the tool's approvers.
 */
function devApprover(request: IncomingMessage): Approver {
  const header = (name: string) => [request.headers[name]].flat()[0];
  return { id: header('x-dev-approver') || 'developer', roles: (header('x-dev-roles') ?? '').split(',').map((r) => r.trim()).filter(Boolean) };
}

const methodNotAllowed = (request: IncomingMessage, requestId: string): Answer => ({ status: 405, body: { message: `${request.method} is not served here`, requestId } });

function reply(response: ServerResponse, answer: Answer): void {
  response.writeHead(answer.status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(answer.body));
}

/** The request's JSON body, or why it is refused. */
async function readJson(request: IncomingMessage, limit: number): Promise<{ value: unknown } | { status: number; problem: string }> {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) return { status: 415, problem: 'send the body as application/json' };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return { status: 413, problem: `the body is over ${limit} bytes` };
    chunks.push(chunk as Buffer);
  }
  try {
    return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { status: 400, problem: 'invalid request body: the body is not JSON' };
  }
}
