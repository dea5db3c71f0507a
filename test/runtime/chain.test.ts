import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelError } from '../../functions/core/models/types';
import { chainOf } from '../../functions/core/audit/records';
import { resetBreakers } from '../../functions/core/models/circuit-breaker';
import { runQueued } from '../../functions/entry/queued';
import { runTask } from '../../functions/entry/tasks';
import { recordChildReport } from '../../functions/entry/child-reports';
import { mergeChildren } from '../../contract/jobs/job-record';
import { memoryTeam, teamDefinitions } from '../__fixtures__/team';

const ask = (task: string) => ({ toolUses: [{ name: 'ask_billing', input: { task } }] });
const handoff = (agent: string, input: string) => ({ toolUses: [{ name: 'handoff', input: { agent, input } }] });

describe('a team of agents in one process', () => {
  it('delegates to a specialist and reads its answer as the tool result', async () => {
    const { team, providers, jobs, runs } = await memoryTeam(teamDefinitions(), {
      triage: [ask('Was ord_12345678 charged twice?'), { text: 'Billing says: yes, refund due.' }],
      billing: [{ text: 'Yes: two charges of 49 EUR; refund one.' }],
    });
    const result = await team.runtime('triage').agent.run({ runId: 'root-1', input: 'Charged twice?', trigger: 'api', deadline: Date.now() + 30_000 });
    assert.equal(result.output, 'Billing says: yes, refund due.');
    const toolResult = providers.triage!.requests[1]!.messages[2]!.content[0]!;
    assert.deepEqual([toolResult.type, (toolResult as { content: string }).content], ['tool_result', 'Yes: two charges of 49 EUR; refund one.']);
    assert.equal(providers.billing!.requests[0]!.messages[0]!.content[0]!.type === 'text' && providers.billing!.requests[0]!.messages[0]!.content[0]!.text, 'Was ord_12345678 charged twice?');
    const child = result.children![0]!;
    assert.deepEqual([child.agent, child.kind, child.status], ['billing', 'call', 'succeeded']);
    const record = (await jobs.billing!.get(child.runId))!;
    assert.deepEqual(record.chain, { correlationId: 'root-1', parentRunId: 'root-1', parentAgent: 'triage', hop: 1, kind: 'call' });
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(runs().map((r) => [r.agent, r.correlationId, r.chain?.parentRunId]), [['billing', 'root-1', 'root-1'], ['triage', 'root-1', undefined]]);
    await team.close();
  });

  it('hands the conversation off over the queue: the specialist runs it to the end with the chain', async () => {
    const { team, jobs, events, runs } = await memoryTeam(teamDefinitions(), {
      triage: [handoff('technical', 'The VPN drops every 10 minutes since the update.'), { text: 'Passed to technical support.' }],
      technical: [{ text: 'Roll back the VPN client to 4.2.' }],
    });
    const result = await team.runtime('triage').agent.run({ runId: 'root-2', input: 'VPN drops', trigger: 'api', deadline: Date.now() + 30_000 });
    assert.equal(result.children![0]!.status, 'queued');
    await team.idle();
    const record = (await jobs.technical!.get(result.children![0]!.runId))!;
    assert.deepEqual([record.status, record.output, record.chain?.kind, record.chain?.parentAgent], ['succeeded', 'Roll back the VPN client to 4.2.', 'handoff', 'triage']);
    assert.deepEqual(
      events.events.map((e) => [e.type, e.detail.agent]),
      [
        ['run.completed', 'technical'],
        ['result.to.triage', 'technical'],
      ],
      'the root ran outside the queued life cycle; the hand-off announced its ending with its chain, and reported it to triage',
    );
    assert.equal(events.events[0]!.detail.chain?.correlationId, 'root-2');
    assert.deepEqual(chainOf(runs(), 'root-2').map((r) => r.agent), ['triage', 'technical']);
    await team.close();
  });

  it('runs a hand-off delivered twice once', async () => {
    const { team, providers, jobs } = await memoryTeam(teamDefinitions(), {
      triage: [handoff('technical', 'Reset the MFA device of user 42.'), { text: 'Passed on.' }],
      technical: [{ text: 'MFA reset.' }, { text: 'MFA reset again (must not happen).' }],
    });
    await team.runtime('triage').agent.run({ runId: 'root-3', input: 'MFA', trigger: 'api', deadline: Date.now() + 30_000 });
    await team.idle();
    team.redeliver(team.sent[0]!);
    await team.idle();
    assert.equal(providers.technical!.requests.length, 1);
    const history = jobs.technical!.history.map((r) => r.status);
    assert.deepEqual(history, ['running', 'succeeded']);
    await team.close();
  });

  it('hands off with what the chain has left: its deadline (not the sender\'s own run limit), its cohort and its path', async () => {
    // The specialist is of another cohort and runs longer: the chain's cohort and deadline still hold.
    const definitions = teamDefinitions({ triage: { cohort: 'retail', limits: { timeoutSeconds: 60, chainTimeoutSeconds: 900 } }, technical: { cohort: 'internal', limits: { timeoutSeconds: 600 } } });
    const { team } = await memoryTeam(definitions, {
      triage: [handoff('technical', 'The printer on floor 3 is offline.'), { text: 'Passed on.' }],
      technical: [{ text: 'Printer restarted.' }],
    });
    const before = Date.now();
    await team.runtime('triage').agent.run({ runId: 'root-d', input: 'Printer', trigger: 'api', deadline: Date.now() + 30_000 });
    const after = Date.now();
    await team.idle();
    const { chain } = team.sent[0]!;
    assert.ok(chain.deadline >= before + 900_000 && chain.deadline <= after + 900_000, 'the chain deadline counts 900 s from the root run, past its own 30 s');
    assert.deepEqual([chain.cohort, chain.hop, chain.causationId, chain.correlationId, chain.path], ['retail', 1, 'root-d', 'root-d', ['triage']]);
    await team.close();
  });

  it('refuses a hop past the chain limit, announces handoff.refused, and tells the model', async () => {
    const definitions = teamDefinitions({ triage: { limits: { maxHops: 1 } }, billing: { handoffs: ['technical'] } });
    const { team, providers, events } = await memoryTeam(definitions, {
      triage: [ask('Refund, then fix the login.'), { text: 'Done what could be done.' }],
      billing: [handoff('technical', 'Fix the login of user 42.'), { text: 'Refund done; the login could not be handed on.' }],
    });
    const result = await team.runtime('triage').agent.run({ runId: 'root-4', input: 'Refund and login', trigger: 'api', deadline: Date.now() + 30_000 });
    assert.equal(result.stopReason, 'end_turn');
    const refusedResult = providers.billing!.requests[1]!.messages[2]!.content[0] as { content: string; isError?: boolean };
    assert.equal(refusedResult.isError, true);
    assert.match(refusedResult.content, /Refused: the chain has reached its limit of 1 hop\b/);
    const refused = events.events.find((e) => e.type === 'handoff.refused')!;
    assert.deepEqual([refused.detail.agent, refused.detail.refused?.to, refused.detail.refused?.reason], ['billing', 'technical', 'max_hops']);
    assert.equal(providers.technical!.requests.length, 0);
    await team.close();
  });

  it('stops two agents handing a conversation back and forth', async () => {
    const definitions = teamDefinitions({ technical: { handoffs: ['triage'] } });
    const { team, providers, events } = await memoryTeam(definitions, {
      triage: [handoff('technical', 'Yours.'), { text: 'Passed.' }, handoff('technical', 'Yours again.'), { text: 'Passed again.' }],
      technical: [handoff('triage', 'Not mine.'), { text: 'Passed back.' }],
    });
    await team.runtime('triage').agent.run({ runId: 'root-5', input: 'Whose is it?', trigger: 'api', deadline: Date.now() + 30_000 });
    await team.idle();
    const refused = events.events.filter((e) => e.type === 'handoff.refused');
    assert.equal(refused.length, 1);
    assert.deepEqual([refused[0]!.detail.agent, refused[0]!.detail.refused?.reason], ['triage', 'loop']);
    assert.match(refused[0]!.detail.refused!.message, /triage → technical → triage/);
    assert.equal(providers.technical!.requests.length, 2, 'technical ran once: its hand-off back, then its note');
    await team.close();
  });

  it('reports a failing specialist to the orchestrator as a tool error, and the orchestrator answers', async () => {
    const { team, providers } = await memoryTeam(teamDefinitions(), {
      triage: [ask('Refund ord_12345678.'), { text: 'Billing is down; a person will follow up.' }],
      billing: [new ModelError('client', 'bad request', 400)],
    });
    const result = await team.runtime('triage').agent.run({ runId: 'root-6', input: 'Refund', trigger: 'api', deadline: Date.now() + 30_000 });
    assert.equal(result.stopReason, 'end_turn');
    const toolResult = providers.triage!.requests[1]!.messages[2]!.content[0] as { content: string; isError?: boolean };
    assert.equal(toolResult.isError, true);
    assert.match(toolResult.content, /agent "billing" did not answer: a model refused the request/);
    assert.deepEqual(result.children!.map((c) => [c.agent, c.status]), [['billing', 'failed']]);
    await team.close();
  });

  it('shares one budget along the chain: the specialist gets what is left, and the chain ends on cost_budget', async () => {
    resetBreakers();
    // Each scripted turn costs 0.0036 USD; the chain may spend 0.01.
    const definitions = teamDefinitions({ triage: { limits: { budgetUsd: 0.01 } }, billing: { limits: { budgetUsd: 1 } } });
    const { team, jobs } = await memoryTeam(
      definitions,
      {
        triage: [ask('Audit every invoice.'), { text: 'never reached' }],
        billing: [{ toolUses: [{ name: 'nothing', input: {} }] }, { toolUses: [{ name: 'nothing', input: {} }] }, { text: 'never reached' }],
      },
      { prices: 20 },
    );
    const result = await team.runtime('triage').agent.run({ runId: 'root-7', input: 'Audit', trigger: 'api', deadline: Date.now() + 30_000 });
    const child = (await jobs.billing!.get(result.children![0]!.runId))!;
    assert.equal(child.stopReason, 'cost_budget', 'billing had 0.0064 left of the chain, not its own 1 USD');
    assert.equal(child.costUsd, 0.0072);
    assert.equal(result.stopReason, 'cost_budget');
    assert.equal(result.delegatedCostUsd, 0.0072);
    await team.close();
  });

  it('gives every run of a chain one trace id and an audit chain in order', async () => {
    const { team, runs } = await memoryTeam(teamDefinitions(), {
      triage: [ask('Charged twice?'), handoff('technical', 'And the app crashes.'), { text: 'Both handled.' }],
      billing: [{ text: 'One refund due.' }],
      technical: [{ text: 'Update the app.' }],
    });
    await team.runtime('triage').agent.run({ runId: 'root-8', input: 'Two problems', trigger: 'api', deadline: Date.now() + 30_000 });
    await team.idle();
    const chain = chainOf(runs(), 'root-8');
    assert.deepEqual(chain.map((r) => [r.agent, r.chain?.hop ?? 0, r.chain?.parentRunId ?? null]), [
      ['triage', 0, null],
      ['billing', 1, 'root-8'],
      ['technical', 1, 'root-8'],
    ]);
    assert.equal(new Set(chain.map((r) => r.traceId)).size, 1);
    assert.match(chain[0]!.traceId!, /^[0-9a-f]{32}$/);
    await team.close();
  });

  it('gives a specialist a job through its queue and waits for the result; the queued orchestrator\'s record lists its children', async () => {
    const definitions = teamDefinitions({ triage: { triggers: [{ type: 'job' }], tools: [{ name: 'review', kind: 'agent', agent: 'billing', mode: 'job', description: 'Review a customer.', input: { type: 'object', required: ['customerId'], properties: { customerId: { type: 'string' } } } }] } });
    const { team, providers, jobs } = await memoryTeam(definitions, {
      triage: [{ toolUses: [{ name: 'review', input: { customerId: 'cus_123456' } }] }, { text: 'Review done: one wrong charge.' }],
      billing: [{ text: 'One wrong charge of 12 EUR in March.' }],
    });
    const done = (await runQueued(team.runtime('triage'), { runId: 'job-9', jobId: 'job-9', trigger: 'job', input: 'Review cus_123456' }, { deadline: Date.now() + 30_000 })) as { output: string };
    assert.equal(done.output, 'Review done: one wrong charge.');
    assert.deepEqual(JSON.parse((providers.billing!.requests[0]!.messages[0]!.content[0] as { text: string }).text), { customerId: 'cus_123456' }, 'a structured input reaches the agent as JSON');
    const toolResult = providers.triage!.requests[1]!.messages[2]!.content[0] as { content: string; isError?: boolean };
    assert.deepEqual([toolResult.content, toolResult.isError], ['One wrong charge of 12 EUR in March.', undefined]);
    const record = (await jobs.triage!.get('job-9'))!;
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.children!.map((c) => [c.agent, c.kind, c.status]), [['billing', 'job', 'succeeded']]);
    const child = (await jobs.billing!.get(record.children![0]!.runId))!;
    assert.deepEqual([child.status, child.chain?.kind, child.chain?.parentRunId, child.chain?.correlationId], ['succeeded', 'job', 'job-9', 'job-9']);
    await team.close();
  });

  it('shows a hand-off on the orchestrator\'s job record as it ended, reported back by the specialist', async () => {
    const definitions = teamDefinitions({ triage: { triggers: [{ type: 'job' }] } });
    const { team, jobs, events } = await memoryTeam(definitions, {
      triage: [handoff('technical', 'The VPN drops every 10 minutes.'), { text: 'Passed to technical support.' }],
      technical: [{ text: 'Roll back the VPN client to 4.2.' }],
    });
    await runQueued(team.runtime('triage'), { runId: 'job-h', jobId: 'job-h', trigger: 'job', input: 'VPN drops' }, { deadline: Date.now() + 30_000 });
    await team.idle();
    const record = (await jobs.triage!.get('job-h'))!;
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.children!.map((c) => [c.agent, c.kind, c.status]), [['technical', 'handoff', 'succeeded']], 'not the queued it was sent as');
    const report = events.events.find((e) => e.type === 'result.to.triage')!;
    assert.deepEqual([report.detail.agent, report.detail.status, report.detail.chain?.parentRunId, report.detail.chain?.kind], ['technical', 'succeeded', 'job-h', 'handoff']);
    // A report delivered again changes nothing; one for another agent, or no report at all, is refused.
    assert.equal(await recordChildReport(jobs.triage, 'triage', report.detail), 'known');
    await assert.rejects(recordChildReport(jobs.billing, 'billing', report.detail), /not a report of a hand-off or job agent billing sent/);
    assert.equal(await recordChildReport(jobs.triage, 'triage', { ...report.detail, chain: { ...report.detail.chain!, parentRunId: 'sync-run' } }, () => {}), 'no record');
    // An ended child is never taken back to what the orchestrator saw when it sent it.
    const ended = record.children![0]!;
    assert.deepEqual(mergeChildren([ended], [{ ...ended, status: 'queued' }]), [ended]);
    assert.deepEqual(mergeChildren([{ ...ended, status: 'queued' }], [ended]), [ended]);
    await team.close();
  });

  it('refuses a task from an agent that may not send it one, before anything runs', async () => {
    const { team, providers, jobs, events } = await memoryTeam(teamDefinitions(), { technical: [{ text: 'must not run' }] });
    const forged = { version: 1 as const, kind: 'handoff' as const, from: 'billing', to: 'technical', runId: 'task-forged', input: 'Do it.', chain: { correlationId: 'c', causationId: 'c', hop: 1, maxHops: 5, deadline: Date.now() + 60_000, budget: { costUsd: 1, tokens: 1000 }, cohort: 'default', path: ['billing'] } };
    const result = await runTask(team.runtime('technical'), forged, { deadline: Date.now() + 30_000 });
    assert.deepEqual([result.status, result.error], ['refused', 'refused: agent billing may not send tasks to technical (its definition does not list it)']);
    assert.equal(providers.technical!.requests.length, 0);
    assert.equal((await jobs.technical!.get('task-forged'))!.status, 'failed');
    assert.deepEqual(events.events.map((e) => [e.type, e.detail.refused?.reason]), [['handoff.refused', 'not_allowed']]);
    await team.close();
  });

  it('dead-letters a hand-off that keeps failing, and its record and run.failed say so', async () => {
    resetBreakers();
    const overloaded = () => new ModelError('overloaded', 'overloaded', 529);
    const { team, jobs, events } = await memoryTeam(teamDefinitions(), {
      triage: [handoff('technical', 'The app crashes.'), { text: 'Passed on.' }],
      // Three deliveries, each trying the model three times.
      technical: Array.from({ length: 9 }, overloaded),
    });
    const result = await team.runtime('triage').agent.run({ runId: 'root-dlq', input: 'Crash', trigger: 'api', deadline: Date.now() + 30_000 });
    await team.idle();
    const record = (await jobs.technical!.get(result.children![0]!.runId))!;
    assert.deepEqual([record.status, record.deliveries, record.chain?.kind], ['dead_lettered', 3, 'handoff']);
    assert.match(record.error!, /no model was available/);
    const failed = events.events.filter((e) => e.type === 'run.failed');
    assert.deepEqual(failed.map((e) => [e.detail.agent, e.detail.status, e.detail.chain?.correlationId]), [['technical', 'dead_lettered', 'root-dlq']]);
    await team.close();
  });
});
