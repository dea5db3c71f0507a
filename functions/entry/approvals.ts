import { approvalBodySchema, mayApprove, type Approver } from '../../contract/jobs/approvals';
import type { ApprovalDecision, JobRecord, WaitingForApproval } from '../../contract/jobs/job-record';
import type { Runtime } from './assemble';

/**
 * The routes people use on a durable run, the same on both clouds: a decision on the call it waits
 * on, and cancelling it. Each cloud supplies only how the engine is told (a callback on Lambda, an
 * external event or a termination on Azure); what is checked, answered and recorded is here.
 */

/** What the routes need of an agent: its definition, its job records and where its events go. */
export type RouteRuntime = Pick<Runtime, 'config' | 'jobs' | 'events'>;

/** An answer of the route: the status and the body, as the API returns them. */
export interface RouteAnswer {
  readonly status: number;
  readonly body: unknown;
}

const ENDED: readonly JobRecord['status'][] = ['succeeded', 'failed', 'dead_lettered', 'cancelled'];

/** What an engine says when the call's wait is over (decided, expired, the run gone): a 409. */
export class NoLongerWaiting extends Error {
  override readonly name = 'NoLongerWaiting';
}

/**
 * `POST /agents/{name}/jobs/{jobId}/approvals`: checks the body, that the job waits on a call, and
 * that the caller is one of its approvers; then `resume` hands the decision to the engine. The
 * decision names the approver, and goes into the job record and the run's audit record with the
 * call. 202: the run goes on, and its status says how.
 */
export async function decideApproval(
  runtime: RouteRuntime,
  request: { readonly jobId: string; readonly approver: Approver; readonly body: unknown; readonly requestId?: string },
  resume: (waiting: WaitingForApproval, decision: ApprovalDecision) => Promise<void>,
): Promise<RouteAnswer> {
  const requestId = request.requestId ? { requestId: request.requestId } : {};
  const parsed = approvalBodySchema.safeParse(request.body ?? {});
  if (!parsed.success) return { status: 400, body: { message: 'invalid request body', problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`), ...requestId } };
  const record = await runtime.jobs?.get(request.jobId);
  if (!record) return { status: 404, body: { message: 'no such job', ...requestId } };
  const waiting = record.waiting;
  if (record.status !== 'waiting_for_approval' || !waiting) return { status: 409, body: { message: `the job is ${record.status}, not waiting for approval`, status: record.status, ...requestId } };
  if (parsed.data.callId && parsed.data.callId !== waiting.callId) return { status: 409, body: { message: `the job waits on call ${waiting.callId}, not ${parsed.data.callId}`, ...requestId } };
  if (!mayApprove(waiting.approvers, request.approver)) {
    return { status: 403, body: { message: `${request.approver.id || 'an anonymous caller'} is not among the approvers of "${waiting.tool}" in agent ${runtime.config.definition.name}`, ...requestId } };
  }
  const decision: ApprovalDecision = {
    decision: parsed.data.decision === 'approve' ? 'approved' : 'rejected',
    by: request.approver.id,
    ...(parsed.data.reason && { reason: parsed.data.reason }),
    at: new Date().toISOString(),
  };
  // The first decision claims the call: of two approvers at once, the second finds it taken.
  const { waiting: _waiting, ...rest } = record;
  const claimed = await runtime.jobs!.replace(record, { ...rest, status: 'running', updatedAt: decision.at, lastApproval: decision });
  if (!claimed) return { status: 409, body: { message: 'the call was decided (or the job changed) a moment ago; read its status', ...requestId } };
  try {
    await resume(waiting, decision);
  } catch (e) {
    if (!(e instanceof NoLongerWaiting)) throw e;
    return { status: 409, body: { message: `the run no longer waits on this call: ${e.message}`, ...requestId } };
  }
  return { status: 202, body: { jobId: request.jobId, callId: waiting.callId, tool: waiting.tool, decision: decision.decision, by: decision.by, ...requestId } };
}

/**
 * `POST /agents/{name}/jobs/{jobId}/cancel`: stops a run that has not ended (`stop` tells the
 * engine), records it `cancelled` with who cancelled it, and announces `run.failed`. A run that
 * already ended is answered 409 and left as it is.
 */
export async function cancelRun(
  runtime: RouteRuntime,
  request: { readonly jobId: string; readonly by: string; readonly requestId?: string },
  stop: (record: JobRecord) => Promise<void>,
): Promise<RouteAnswer> {
  const requestId = request.requestId ? { requestId: request.requestId } : {};
  const { definition } = runtime.config;
  const record = await runtime.jobs?.get(request.jobId);
  if (!record) return { status: 404, body: { message: 'no such job', ...requestId } };
  if (ENDED.includes(record.status)) return { status: 409, body: { message: `the job already ended ${record.status}`, status: record.status, ...requestId } };
  const error = `cancelled by ${request.by || 'an anonymous caller'}`;
  const { waiting: _waiting, ...rest } = record;
  // Recorded first, only over the record as read: a run that starts now finds it cancelled and
  // never runs, and one that wrote since is asked again (409) rather than overwritten.
  if (!(await runtime.jobs!.replace(record, { ...rest, status: 'cancelled', error, updatedAt: new Date().toISOString() }))) {
    return { status: 409, body: { message: 'the job changed a moment ago; read its status and cancel again', ...requestId } };
  }
  await stop(record);
  await runtime.events.publish('run.failed', {
    version: 1,
    runId: request.jobId,
    jobId: request.jobId,
    agent: definition.name,
    cohort: definition.cohort,
    trigger: 'job',
    promptVersion: definition.promptVersion,
    definitionVersion: definition.version,
    status: 'cancelled',
    error,
  });
  return { status: 202, body: { jobId: request.jobId, status: 'cancelled', ...requestId } };
}
