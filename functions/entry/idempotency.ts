import type { JobAccepted } from '../../contract/api/messages';
import type { RequestBody } from '../../contract/api/request';
import { contentDigest } from '../../contract/digest/content';
import type { JobRecord } from '../../contract/jobs/job-record';
import { claimJob } from '../core/jobs/jobs';
import type { Runtime } from './assemble';
import { answerNow } from './outcome';
import { jobAnswer, staleAfterMs } from './queued';

/**
 * A caller's idempotency key, the same on both clouds: the key names one request, recorded in the
 * agent's job store under the key. The same key with the same request gets what the first got,
 * without another run (or another job); the same key with another request is refused 409 naming
 * the key. A request that ended for a reason worth a retry (no model answered, out of time) runs
 * again when retried with its key, and each attempt has its own audit object.
 */

/** The routes a key can name a request on; a key used on one is refused on the other. */
export type KeyedRoute = 'invocation' | 'job';

/** What the caller is answered: an HTTP status and a JSON body. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** What identifies a request under its key: the route, the input and the session, in canonical JSON. */
export const requestFingerprint = (route: KeyedRoute, body: RequestBody) => contentDigest(route, body.input, body.sessionId ?? null);


function conflict(key: string, message: string, retryable = false): Reply {
  return { status: 409, body: { message, idempotencyKey: key, ...(retryable && { retryable: true }) } };
}

/** The 409 for a key that names another request (another route, input or session), or undefined. */
function otherRequest(previous: JobRecord, route: KeyedRoute, fingerprint: string, key: string): Reply | undefined {
  if (previous.request === fingerprint) return undefined;
  return conflict(key, `idempotency key "${key}" was already used for a different request (another input or session${route === 'job' ? ', or an invocation' : ', or a job'}); send a new key with a new request`);
}

/** The 409 for an invocation whose key names one still running (not one whose function died), or undefined. */
function stillRunning(previous: JobRecord, key: string, staleMs: number, now = Date.now()): Reply | undefined {
  if (previous.status !== 'running' || now - Date.parse(previous.updatedAt) >= staleMs) return undefined;
  return conflict(key, `a request with idempotency key "${key}" is still running; retry later`, true);
}

/**
 * `POST /agents/{name}/invocations`: runs now and answers (see answerNow), once per idempotency key.
 * Without a key the run id is the platform's request id and every request runs.
 */
export async function answerOnce(runtime: Runtime, body: RequestBody, request: { readonly requestId: string; readonly deadline: number }): Promise<Reply> {
  const { definition } = runtime.config;
  const key = body.idempotencyKey;
  const run = (runId: string) => answerNow(runtime, definition, { runId, input: body.input, deadline: request.deadline });
  if (key === undefined) return run(request.requestId);
  const { jobs } = runtime;
  if (!jobs) {
    return { status: 400, body: { message: `agent "${definition.name}" keeps no request records, so it cannot honour idempotency key "${key}": send the request without one, or give the agent a state store`, requestId: request.requestId } };
  }
  const fingerprint = requestFingerprint('invocation', body);
  const running = (deliveries: number): JobRecord => ({ jobId: key, agent: definition.name, status: 'running', updatedAt: new Date().toISOString(), deliveries, request: fingerprint });

  let deliveries = 1;
  const previous = await jobs.get(key);
  if (previous) {
    const refused = otherRequest(previous, 'invocation', fingerprint, key) ?? stillRunning(previous, key, staleAfterMs(runtime));
    if (refused) return refused;
    const finished = (previous.status === 'succeeded' || previous.status === 'failed') && !previous.retryable;
    if (finished && previous.response) return previous.response;
    deliveries = (previous.deliveries ?? 0) + 1;
  }
  // Claimed as queued runs are: of two requests with the key at once, one runs.
  if (!(await claimJob(jobs, previous, running(deliveries)))) {
    // Another request with this key got there first, a moment ago.
    const first = await jobs.get(key);
    return (first && otherRequest(first, 'invocation', fingerprint, key)) ?? conflict(key, `a request with idempotency key "${key}" is still running; retry later`, true);
  }

  const answer = await run(key);
  const { result } = answer;
  await jobs.put({
    jobId: key,
    agent: definition.name,
    status: answer.outcome === 'succeeded' ? 'succeeded' : 'failed',
    updatedAt: new Date().toISOString(),
    deliveries,
    request: fingerprint,
    response: { status: answer.status, body: answer.body },
    ...(answer.outcome === 'retryable' && { retryable: true }),
    ...(result && jobAnswer(result)),
    ...(answer.reason && { error: answer.reason }),
  });
  return answer;
}

/** Where a submitted job goes: the agent's queue, by each cloud's means. */
export type JobSender = (job: { readonly jobId: string; readonly body: RequestBody }) => Promise<void>;

/**
 * `POST /agents/{name}/jobs`: records the job `queued` and puts it on the agent's queue, once per
 * idempotency key. A key already used for the same job answers with that job's status, and sends it
 * again only if no delivery has touched it yet (the first send may be what failed).
 */
export async function acceptJob(
  runtime: Runtime,
  body: RequestBody,
  request: { readonly newJobId: string; readonly statusUrl: (jobId: string) => string },
  send: JobSender,
): Promise<Reply> {
  const { definition } = runtime.config;
  const { jobs } = runtime;
  if (!jobs) throw new Error(`agent "${definition.name}" takes jobs but has no job store`);
  const key = body.idempotencyKey;
  const jobId = key ?? request.newJobId;
  const fingerprint = requestFingerprint('job', body);
  const accepted = (status: JobRecord['status']): Reply => ({ status: 202, body: { jobId, status, statusUrl: request.statusUrl(jobId) } satisfies JobAccepted });
  const queued: JobRecord = { jobId, agent: definition.name, status: 'queued', updatedAt: new Date().toISOString(), request: fingerprint };

  if (key !== undefined && !(await jobs.create(queued))) {
    const previous = (await jobs.get(jobId))!;
    const refused = otherRequest(previous, 'job', fingerprint, key);
    if (refused) return refused;
    const untouched = previous.status === 'queued' && previous.error === undefined && previous.deliveries === undefined;
    if (!untouched) return accepted(previous.status);
  } else if (key === undefined) {
    await jobs.put(queued);
  }
  await send({ jobId, body });
  return accepted('queued');
}
