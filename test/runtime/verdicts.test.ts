import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineAgent } from '../../contract/definition';
import { runVerdict, type RunStopReason } from '../../contract/runs/results';
import type { Agent, RunResult } from '../../functions/core/agent/agent';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { ZERO_USAGE } from '../../functions/core/models/types';
import { answerNow } from '../../functions/entry/outcome';
import { agentInput } from '../helpers';

const result = (stopReason: RunStopReason, extra: Partial<RunResult> = {}): RunResult => ({ runId: 'r-1', agent: 'helper', stopReason, output: '', steps: 1, usage: ZERO_USAGE, costUsd: 0, correlationId: 'r-1', ...extra });
const invalid = { ok: false, problems: [{ kind: 'rule' as const, path: 'dueBy', message: 'must be in the future' }] };

/** Every way a run can end: its verdict, and the status a synchronous caller gets. */
const ENDINGS: [what: string, run: RunResult, requiresOutput: boolean, outcome: string, status: number, reason?: RegExp][] = [
  ['an answer', result('end_turn', { output: 'done' }), false, 'succeeded', 200],
  ['an answer that passed its contract', result('end_turn', { validation: { ok: true, problems: [] } }), true, 'succeeded', 200],
  ['an answer that broke its contract', result('end_turn', { validation: invalid }), true, 'failed', 422, /^the answer failed validation: dueBy: must be in the future$/],
  ['a refusal, no output required', result('refusal', { output: 'I cannot help with that.' }), false, 'succeeded', 200],
  ['a refusal where output was required', result('refusal'), true, 'failed', 422, /refused, and the agent must answer in its output format/],
  ['the step limit', result('max_steps'), false, 'failed', 422, /step limit/],
  ['the token budget', result('token_budget'), false, 'failed', 422, /token budget/],
  ['the cost budget', result('cost_budget'), false, 'failed', 422, /cost budget/],
  ['a model refusing the request', result('model_error', { error: 'model call failed: bad request' }), false, 'failed', 502, /^a model refused the request: model call failed: bad request$/],
  ['every model down', result('model_unavailable', { error: 'every model target failed' }), false, 'retryable', 503, /^no model was available: every model target failed$/],
  ['the deadline', result('deadline'), false, 'retryable', 504, /ran out of time/],
];

describe('how a run ends, on both clouds', () => {
  for (const [what, run, requiresOutput, outcome, status, reason] of ENDINGS) {
    it(`${what}: ${outcome}, ${status}`, async () => {
      const verdict = runVerdict(run, requiresOutput);
      assert.deepEqual([verdict.outcome, verdict.status], [outcome, status]);
      if (reason) assert.match(verdict.reason!, reason);

      // The synchronous API answers with that status and reason, and announces the run.
      const definition = defineAgent(agentInput(requiresOutput ? { output: { schema: { type: 'object' } } } : {}));
      const events = new MemoryEventPublisher();
      const agent = { run: async () => run } as unknown as Agent;
      const answer = await answerNow({ agent, events }, definition, { runId: 'r-1', input: 'hi', deadline: Date.now() + 1000 });
      assert.equal(answer.status, status);
      const [event] = events.events;
      assert.equal(event!.type, outcome === 'succeeded' ? 'run.completed' : 'run.failed');
      if (outcome !== 'succeeded') {
        assert.deepEqual([event!.detail.status, event!.detail.stopReason], ['failed', run.stopReason]);
        assert.equal((answer.body as { message: string }).message, verdict.reason);
        assert.equal((answer.body as { retryable?: boolean }).retryable, outcome === 'retryable' ? true : undefined);
      }
    });
  }

  it('answers 500 when the runtime itself fails, and announces it', async () => {
    const events = new MemoryEventPublisher();
    const agent = { run: async () => Promise.reject(new Error('disk full')) } as unknown as Agent;
    const answer = await answerNow({ agent, events }, defineAgent(agentInput()), { runId: 'r-2', input: 'hi', deadline: Date.now() + 1000 });
    assert.equal(answer.status, 500);
    assert.deepEqual([events.events[0]!.type, events.events[0]!.detail.error], ['run.failed', 'disk full']);
  });
});
