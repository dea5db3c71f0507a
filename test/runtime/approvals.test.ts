import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mayApprove } from '../../contract/jobs/approvals';
import type { ApprovalDecision, WaitingForApproval } from '../../contract/jobs/job-record';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime } from '../../functions/entry/assemble';
import { cancelRun, decideApproval, NoLongerWaiting } from '../../functions/entry/approvals';
import { durableDefinition } from '../__fixtures__/durable-agent';

/** The approvals and cancel routes as both clouds serve them, over a run that waits on a refund. */
async function waitingRun(jobId = 'job-1') {
  const jobs = new MemoryJobStore();
  const events = new MemoryEventPublisher();
  const rt = await assembleRuntime({ definition: durableDefinition('http://127.0.0.1:9'), route: [{ provider: 'bedrock', model: 'm' }] }, { jobs, events, metrics: new MemoryMetrics(), secret: async () => '' });
  const waiting: WaitingForApproval = { reason: 'approval', step: 1, callId: 'call_1_0', tool: 'issue_refund', input: { orderId: 'o1' }, approvers: ['role:finance-lead', 'arn:aws:iam::123456789012:user/ana'], expiresAt: '2026-12-02T00:00:00Z' };
  await jobs.put({ jobId, agent: 'helper', status: 'waiting_for_approval', updatedAt: '2026-12-01T00:00:00Z', waiting });
  const resumed: ApprovalDecision[] = [];
  const decide = (approver: { id: string; roles?: string[] }, body: unknown) => decideApproval(rt, { jobId, approver: { id: approver.id, roles: approver.roles ?? [] }, body }, async (_w, d) => void resumed.push(d));
  return { rt, jobs, events, resumed, decide };
}

describe('approvals and cancellation of a durable run', () => {
  it('resumes the run with the decision, naming who decided and why', async () => {
    const { decide, resumed } = await waitingRun();
    const answer = await decide({ id: 'arn:aws:iam::123456789012:user/ana' }, { decision: 'reject', reason: 'duplicate' });
    assert.equal(answer.status, 202);
    assert.deepEqual([resumed[0]!.decision, resumed[0]!.by, resumed[0]!.reason], ['rejected', 'arn:aws:iam::123456789012:user/ana', 'duplicate']);
  });

  it('refuses a caller who is not an approver (403), a job not waiting (409), an unknown job (404) and a bad body (400), resuming nothing', async () => {
    const { decide, resumed, rt } = await waitingRun();
    assert.equal((await decide({ id: 'arn:aws:iam::123456789012:user/bob' }, { decision: 'approve' })).status, 403);
    assert.equal((await decide({ id: 'arn:aws:iam::123456789012:user/ana' }, { decision: 'maybe' })).status, 400);
    assert.equal((await decide({ id: 'arn:aws:iam::123456789012:user/ana' }, { decision: 'approve', by: 'someone-else' })).status, 400, 'who decides is never a field of the body');
    assert.equal((await decide({ id: 'arn:aws:iam::123456789012:user/ana' }, { decision: 'approve', callId: 'call_9_9' })).status, 409);
    assert.equal((await decideApproval(rt, { jobId: 'nope', approver: { id: 'x', roles: [] }, body: { decision: 'approve' } }, async () => {})).status, 404);
    await rt.jobs!.put({ jobId: 'done', agent: 'helper', status: 'succeeded', updatedAt: '' });
    assert.equal((await decideApproval(rt, { jobId: 'done', approver: { id: 'arn:aws:iam::123456789012:user/ana', roles: [] }, body: { decision: 'approve' } }, async () => {})).status, 409);
    assert.equal(resumed.length, 0);
  });

  it('matches approvers by identity with wildcards, by app role or group, and by the role an IAM session assumed', () => {
    assert.ok(mayApprove(['role:finance-lead'], { id: 'oid-1', roles: ['finance-lead'] }));
    assert.ok(mayApprove(['role:finance-lead'], { id: 'arn:aws:sts::123456789012:assumed-role/finance-lead/ana', roles: [] }));
    assert.ok(!mayApprove(['role:finance-lead'], { id: 'arn:aws:sts::123456789012:assumed-role/finance-lead-x/ana', roles: [] }));
    assert.ok(mayApprove(['arn:aws:iam::123456789012:user/*'], { id: 'arn:aws:iam::123456789012:user/ana', roles: [] }));
    assert.ok(!mayApprove(['arn:aws:iam::123456789012:user/*'], { id: 'arn:aws:iam::999999999999:user/ana', roles: [] }));
    assert.ok(!mayApprove(['*'], { id: '', roles: [] }), 'an anonymous caller approves nothing');
  });

  it('cancels a run that has not ended: the engine is told, the record says who cancelled it, run.failed is announced; an ended run is left alone', async () => {
    const { rt, jobs, events } = await waitingRun('job-c');
    const stopped: string[] = [];
    const answer = await cancelRun(rt, { jobId: 'job-c', by: 'arn:aws:iam::123456789012:user/ana' }, async (r) => void stopped.push(r.jobId));
    assert.equal(answer.status, 202);
    assert.deepEqual(stopped, ['job-c']);
    const record = (await jobs.get('job-c'))!;
    assert.deepEqual([record.status, record.error, record.waiting], ['cancelled', 'cancelled by arn:aws:iam::123456789012:user/ana', undefined]);
    assert.equal(events.events.find((e) => e.type === 'run.failed')?.detail.status, 'cancelled');
    assert.equal((await cancelRun(rt, { jobId: 'job-c', by: 'x' }, async () => assert.fail('an ended run is not stopped again'))).status, 409);
  });

  it('lets the first decision take the call: a second approver gets 409, and so does a decision the engine no longer waits for', async () => {
    const { decide, resumed, rt } = await waitingRun('job-twice');
    const [first, second] = await Promise.all([
      decide({ id: 'arn:aws:iam::123456789012:user/ana' }, { decision: 'approve' }),
      decide({ id: 'oid-9', roles: ['finance-lead'] }, { decision: 'reject', reason: 'too late' }),
    ]);
    assert.deepEqual([first.status, second.status].sort(), [202, 409]);
    assert.equal(resumed.length, 1);
    assert.equal((await rt.jobs!.get('job-twice'))!.lastApproval?.decision, resumed[0]!.decision);

    const late = await waitingRun('job-late');
    const answer = await decideApproval(late.rt, { jobId: 'job-late', approver: { id: 'arn:aws:iam::123456789012:user/ana', roles: [] }, body: { decision: 'approve' } }, async () => {
      throw new NoLongerWaiting('the callback timed out');
    });
    assert.equal(answer.status, 409);
    assert.match((answer.body as { message: string }).message, /no longer waits on this call: the callback timed out/);
  });
});
