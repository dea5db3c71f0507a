import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Cloud } from '../../contract/config/runtime-config';
import { defineAgent, type AgentDefinitionInput } from '../../contract/definition';
import { OPEN_TOOL_POLICY, type ToolPolicy } from '../../contract/policy/tool-policy';
import { Agent } from '../../functions/core/agent/agent';
import { MemoryAuditSink, type RunRecord, type StepRecord } from '../../functions/core/audit/records';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { resetBreakers } from '../../functions/core/models/circuit-breaker';
import { ModelRouter } from '../../functions/core/models/router';
import { ModelError } from '../../functions/core/models/types';
import { LocalSkillStore } from '../../functions/local/skill-store';
import { AgentSkills } from '../../functions/core/skills/skills';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { HttpToolTransport } from '../../functions/core/tools/http';
import { agentInput, SKILLS } from '../helpers';
import { ScriptedProvider, scriptedFactory, type ScriptStep } from '../__fixtures__/scripted-provider';

/** A loopback HTTP tool backend that records what it was sent. */
let backend: { url: string; calls: { path: string; headers: IncomingMessage['headers']; body: unknown }[]; close: () => void };
before(async () => {
  const calls: typeof backend.calls = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls.push({ path: req.url!, headers: req.headers, body: body ? JSON.parse(body) : undefined });
      res.setHeader('content-type', 'application/json');
      const answer = () => res.end(JSON.stringify({ orderId: 'ord_12345678', amount: 120, currency: 'EUR', status: 'paid' }));
      if (req.url === '/slow') setTimeout(answer, 3_000).unref();
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  backend = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, close: () => (server.closeAllConnections(), server.close()) };
});
after(() => backend.close());
beforeEach(() => {
  resetBreakers();
  backend.calls.length = 0;
});

const lookup = () => ({
  name: 'lookup_order',
  description: 'Look up an order.',
  kind: 'http' as const,
  url: `${backend.url}/orders`,
  sideEffect: 'read' as const,
  scopes: ['orders:read'],
  input: { type: 'object', required: ['orderId'], additionalProperties: false, properties: { orderId: { type: 'string', pattern: '^ord_[A-Za-z0-9]{8}$' } } },
});
const refund = () => ({ ...lookup(), name: 'refund', description: 'Refund an order.', url: `${backend.url}/refunds`, sideEffect: 'write' as const, scopes: ['payments:write'] });

async function setup(
  overrides: Partial<AgentDefinitionInput>,
  script: ScriptStep[],
  options: { policy?: ToolPolicy; now?: () => number; prices?: Record<string, { inputPerMTok: number; outputPerMTok: number }>; events?: MemoryEventPublisher; cloud?: Cloud; billedBy?: Cloud } = {},
) {
  const definition = defineAgent(agentInput({ tools: [lookup(), refund()], ...overrides }));
  const provider = new ScriptedProvider('model-a', script);
  const audit = new MemoryAuditSink();
  const metrics = new MemoryMetrics();
  const agent = new Agent(definition, {
    router: new ModelRouter([{ provider: 'bedrock', model: 'model-a', ...(options.billedBy && { billedBy: options.billedBy }) }], scriptedFactory({ 'model-a': provider }), { sleep: async () => {} }),
    skills: await AgentSkills.open(new LocalSkillStore(SKILLS), definition.skills),
    transports: { http: new HttpToolTransport([new URL(backend.url).host]) },
    audit,
    metrics,
    prices: options.prices ?? { 'model-a': { inputPerMTok: 3, outputPerMTok: 15 } },
    toolPolicy: options.policy ?? OPEN_TOOL_POLICY,
    ...(options.now && { now: options.now }),
    ...(options.events && { events: options.events }),
    ...(options.cloud && { cloud: options.cloud }),
  });
  const run = (input = 'Where is order ord_12345678?', deadline = Date.now() + 60_000) => agent.run({ runId: 'run-1', input, trigger: 'api', deadline });
  return { agent, provider, audit, metrics, run };
}

const steps = (audit: MemoryAuditSink) => audit.records.filter((r): r is StepRecord => r.type === 'step');
const runRecord = (audit: MemoryAuditSink) => audit.records.find((r): r is RunRecord => r.type === 'run')!;

describe('the agent loop', () => {
  it('runs a multi-step tool loop: model, concurrent tools, results, answer', async () => {
    const { run, provider, audit, metrics } = await setup({}, [
      { toolUses: [{ name: 'lookup_order', input: { orderId: 'ord_12345678' } }, { name: 'lookup_order', input: { orderId: 'ord_87654321' } }] },
      { text: 'Order ord_12345678 is paid: 120 EUR.' },
    ]);
    const result = await run();
    assert.equal(result.stopReason, 'end_turn');
    assert.equal(result.output, 'Order ord_12345678 is paid: 120 EUR.');
    assert.equal(result.steps, 2);
    assert.deepEqual(backend.calls.map((c) => c.body), [{ orderId: 'ord_12345678' }, { orderId: 'ord_87654321' }]);
    const second = provider.requests[1]!;
    assert.deepEqual(second.messages.map((m) => m.role), ['user', 'assistant', 'user']);
    const results = second.messages[2]!.content;
    assert.equal(results.length, 2);
    assert.ok(results.every((b) => b.type === 'tool_result' && !b.isError && b.content.includes('"status":"paid"')));
    assert.equal(result.usage.inputTokens, 200);
    assert.equal(result.costUsd, (200 * 3 + 40 * 15) / 1e6);
    assert.equal(steps(audit)[0]!.toolCalls.length, 2);
    assert.equal(runRecord(audit).stopReason, 'end_turn');
    assert.equal(metrics.sum('ToolCalls'), 2);
  });

  it('caches instructions, skill catalog and tools as prompt prefixes', async () => {
    const { run, provider } = await setup({ skills: ['ticket-triage'] }, [{ text: 'done' }]);
    await run();
    const request = provider.requests[0]!;
    assert.deepEqual(request.system.map((s) => s.cache), [true, true]);
    assert.match(request.system[1]!.text, /ticket-triage: Classify an incoming support ticket/);
    assert.doesNotMatch(request.system[1]!.text, /refund-requests/);
    assert.equal(request.cacheTools, true);
    assert.deepEqual(request.tools.map((t) => t.name), ['lookup_order', 'refund', 'load_skill', 'read_skill_file']);
  });

  it('loads a skill body on demand and its other files only when asked', async () => {
    const { run, provider, metrics } = await setup({ skills: ['refund-requests'] }, [
      { toolUses: [{ name: 'load_skill', input: { name: 'refund-requests' } }] },
      { toolUses: [{ name: 'read_skill_file', input: { name: 'refund-requests', path: 'references/policy.md' } }] },
      { text: 'ok' },
    ]);
    await run();
    const body = provider.requests[1]!.messages[2]!.content[0] as { content: string };
    assert.match(body.content, /^# Refund requests/);
    assert.doesNotMatch(body.content, /^---/);
    const file = provider.requests[2]!.messages[4]!.content[0] as { content: string };
    assert.match(file.content, /Chargeback open/);
    assert.equal(metrics.sum('SkillActivations'), 1);
  });

  it('ends on max_steps', async () => {
    const loop: ScriptStep = { toolUses: [{ name: 'lookup_order', input: { orderId: 'ord_12345678' } }] };
    const { run } = await setup({ limits: { maxSteps: 2 } }, [loop, loop, loop]);
    const result = await run();
    assert.equal(result.stopReason, 'max_steps');
    assert.equal(result.steps, 2);
  });

  it('ends on token_budget', async () => {
    const loop: ScriptStep = { toolUses: [{ name: 'lookup_order', input: { orderId: 'ord_12345678' } }], usage: { inputTokens: 600, outputTokens: 100 } };
    const { run, provider } = await setup({ limits: { maxTotalTokens: 1000, maxOutputTokens: 500 } }, [loop, loop, loop]);
    const result = await run();
    assert.equal(result.stopReason, 'token_budget');
    assert.equal(result.steps, 2);
    assert.equal(provider.requests[1]!.maxTokens, 300, 'the second call may only spend what is left');
  });

  it('ends on cost_budget', async () => {
    const loop: ScriptStep = { toolUses: [{ name: 'lookup_order', input: { orderId: 'ord_12345678' } }], usage: { inputTokens: 10_000, outputTokens: 1_000 } };
    const { run } = await setup({ limits: { budgetUsd: 0.05 } }, [loop, loop, loop, loop]);
    const result = await run();
    assert.equal(result.stopReason, 'cost_budget');
    assert.equal(result.steps, 2);
    assert.ok(result.costUsd >= 0.05);
  });

  it('ends on the deadline, before a model call it has no time for', async () => {
    let clock = 1_000;
    const { agent } = await setup({}, [() => ((clock += 5_000), { toolUses: [{ name: 'lookup_order', input: { orderId: 'ord_12345678' } }] }), { text: 'late' }], { now: () => clock });
    const result = await agent.run({ runId: 'r', input: 'hi', trigger: 'job', deadline: 4_000 });
    assert.equal(result.stopReason, 'deadline');
    assert.equal(result.steps, 1);
  });

  it('cuts a tool call off at the run deadline, then ends on deadline', async () => {
    const definition = { tools: [{ ...lookup(), url: `${backend.url}/slow` }] };
    const { agent, audit } = await setup(definition, [{ toolUses: [{ name: 'lookup_order', input: { orderId: 'ord_12345678' } }] }, { text: 'never' }]);
    const started = Date.now();
    const result = await agent.run({ runId: 'slow', input: 'go', trigger: 'api', deadline: started + 400 });
    assert.equal(result.stopReason, 'deadline');
    assert.ok(Date.now() - started < 2_000, 'the slow tool did not hold the run past its deadline');
    assert.equal(steps(audit)[0]!.toolCalls[0]!.status, 'error');
  });

  it('ends on a refusal', async () => {
    const { run, metrics } = await setup({}, [{ text: 'I cannot help with that.', stopReason: 'refusal' }]);
    const result = await run();
    assert.equal(result.stopReason, 'refusal');
    assert.equal(metrics.sum('Refusals'), 1);
  });

  it('refuses a tool the cohort policy denies, whatever the model asks, and audits it', async () => {
    const { run, audit, provider, metrics } = await setup({}, [{ toolUses: [{ name: 'refund', input: { orderId: 'ord_12345678' } }] }, { text: 'I could not refund.' }], {
      policy: { allowedScopes: ['orders:read'], deniedTools: [], allowWrite: true },
    });
    await run();
    assert.equal(backend.calls.length, 0, 'nothing was sent to the tool');
    assert.deepEqual(provider.requests[0]!.tools.map((t) => t.name), ['lookup_order'], 'the denied tool is not offered');
    const outcome = steps(audit)[0]!.toolCalls[0]!;
    assert.equal(outcome.status, 'denied');
    assert.match(outcome.content, /needs scope payments:write, which this cohort lacks/);
    assert.equal(metrics.sum('ToolDenials'), 1);
  });

  it('sends invalid tool input back to the model as an error, and runs nothing', async () => {
    const { run, provider } = await setup({}, [{ toolUses: [{ name: 'lookup_order', input: { orderId: 'nope', extra: true } }] }, { text: 'sorry' }]);
    await run();
    assert.equal(backend.calls.length, 0);
    const result = provider.requests[1]!.messages[2]!.content[0] as { content: string; isError: boolean };
    assert.equal(result.isError, true);
    assert.match(result.content, /Invalid input for "lookup_order": orderId: Invalid string: must match pattern/);
    assert.match(result.content, /Unrecognized key: "extra"/);
  });

  it('takes a deadline in fractional milliseconds, as arithmetic on remaining time gives it', async () => {
    const { run } = await setup({}, [{ text: 'done' }]);
    const result = await run('hi', Date.now() + 60_000.6);
    assert.equal(result.stopReason, 'end_turn');
  });

  it('keys a write by its effect, so a retried job that reaches it by another path sends the same key', async () => {
    const refundOrder = { name: 'refund', input: { orderId: 'ord_12345678' } };
    const lookupOrder = { name: 'lookup_order', input: { orderId: 'ord_12345678' } };
    // The first delivery refunds at once; the retried one looks the order up first and then
    // refunds beside a second lookup, at another step and another position in the step.
    const first = await setup({}, [{ toolUses: [refundOrder] }, { text: 'done' }]);
    await first.run();
    const retried = await setup({}, [{ toolUses: [lookupOrder] }, { toolUses: [lookupOrder, refundOrder] }, { text: 'done' }]);
    await retried.run();
    const refunds = () => backend.calls.filter((c) => c.path === '/refunds').map((c) => c.headers['idempotency-key']);
    assert.equal(refunds().length, 2);
    assert.match(String(refunds()[0]), /^[0-9a-f]{32}$/);
    assert.equal(refunds()[0], refunds()[1]);

    // Another run, or another effect in the same run, is another key.
    const other = await setup({}, [{ toolUses: [refundOrder] }, { toolUses: [{ name: 'refund', input: { orderId: 'ord_87654321' } }] }, { text: 'done' }]);
    await other.agent.run({ runId: 'run-2', input: 'refund it', trigger: 'job', deadline: Date.now() + 60_000 });
    const [, , secondRun, otherOrder] = refunds();
    assert.notEqual(secondRun, refunds()[0]);
    assert.notEqual(otherOrder, secondRun);
  });

  const output = { schema: { type: 'object', required: ['price', 'dueBy', 'confidence'], properties: { price: { type: 'number' }, dueBy: { type: 'string' }, confidence: { type: 'number' } } }, rules: [{ field: 'price', check: 'nonNegative' as const }, { field: 'dueBy', check: 'future' as const }], minConfidence: 0.5 };
  const future = new Date(Date.now() + 86_400_000).toISOString();

  it('repairs an answer that breaks a business rule by showing the model its errors', async () => {
    const { run, provider } = await setup({ output }, [{ text: JSON.stringify({ price: -3, dueBy: future, confidence: 0.9 }) }, { text: `\`\`\`json\n${JSON.stringify({ price: 3, dueBy: future, confidence: 0.9 })}\n\`\`\`` }]);
    const result = await run();
    assert.equal(result.validation?.ok, true);
    assert.deepEqual(result.structuredOutput, { price: 3, dueBy: future, confidence: 0.9 });
    const repair = provider.requests[1]!.messages[2]!.content[0] as { text: string };
    assert.match(repair.text, /price: must not be negative/);
  });

  it('reports a failed repair with its validation report', async () => {
    const past = '2020-01-01T00:00:00Z';
    const { run, audit } = await setup({ output }, [{ text: JSON.stringify({ price: 1, dueBy: past, confidence: 0.2 }) }, { text: 'not json at all' }]);
    const result = await run();
    assert.equal(result.stopReason, 'end_turn');
    assert.equal(result.validation?.ok, false);
    assert.deepEqual(result.validation?.problems.map((p) => p.kind), ['parse']);
    assert.deepEqual(steps(audit)[0]!.validation?.problems.map((p) => [p.kind, p.path]), [
      ['rule', 'dueBy'],
      ['confidence', 'confidence'],
    ]);
  });

  it('writes a run record with versions, route, usage and cost, and one record per step', async () => {
    const { run, audit } = await setup({}, [{ toolUses: [{ name: 'lookup_order', input: { orderId: 'ord_12345678' } }] }, { text: 'done' }]);
    await run();
    const record = runRecord(audit);
    assert.equal(record.agent, 'helper');
    assert.equal(record.promptVersion.length, 16);
    assert.equal(record.provider, 'bedrock');
    assert.equal(record.model, 'model-a');
    assert.equal(record.fullyPriced, true);
    const [first] = steps(audit);
    assert.equal(first!.request.system[0]!.text, 'You help.');
    assert.equal(first!.toolCalls[0]!.name, 'lookup_order');
    assert.ok(first!.toolCalls[0]!.durationMs >= 0);
  });

  it('offers a handoff tool only to an agent with handoffs and a way to reach them', async () => {
    const events = new MemoryEventPublisher();
    const withBusOnly = await setup({ handoffs: ['refunds'] }, [{ text: 'x' }], { events });
    await withBusOnly.run();
    assert.ok(!withBusOnly.provider.requests[0]!.tools.some((t) => t.name === 'handoff'), 'a bus alone reaches no agent: no handoff tool');
    const without = await setup({}, [{ text: 'x' }]);
    await without.run();
    assert.ok(!without.provider.requests[0]!.tools.some((t) => t.name === 'handoff'));
  });

  it('ends a run a model refuses as a bad request with model_error and the reason, recorded and counted', async () => {
    const { run, audit, metrics } = await setup({}, [new ModelError('client', 'bad request', 400)]);
    const result = await run();
    assert.equal(result.stopReason, 'model_error');
    assert.match(result.error ?? '', /model call failed: bad request/);
    assert.equal(runRecord(audit).stopReason, 'model_error');
    assert.match(runRecord(audit).error ?? '', /bad request/);
    assert.equal(metrics.sum('RunFailures'), 1);
  });

  it('ends a run no model can answer with model_unavailable, not end_turn', async () => {
    const down = new ModelError('overloaded', 'overloaded', 529);
    const { run, audit, metrics } = await setup({}, [down, down, down]);
    const result = await run();
    assert.deepEqual([result.stopReason, result.output], ['model_unavailable', '']);
    assert.match(result.error ?? '', /every model target failed/);
    assert.equal(runRecord(audit).stopReason, 'model_unavailable');
    assert.equal(metrics.sum('RunFailures'), 1);
  });

  it('counts spend the hosting cloud does not bill as ExternalCostUsd too, and none that it bills', async () => {
    const answered = (options: { cloud?: Cloud; billedBy?: Cloud }) => setup({}, [{ text: 'Done.' }], options).then(async (s) => (await s.run(), s.metrics));
    const onItsCloud = await answered({ cloud: 'aws', billedBy: 'aws' });
    assert.ok(onItsCloud.sum('CostUsd') > 0);
    assert.equal(onItsCloud.sum('ExternalCostUsd'), 0);
    for (const options of [{ cloud: 'azure' as const, billedBy: 'aws' as const }, { cloud: 'aws' as const }, {}]) {
      const metrics = await answered(options);
      assert.equal(metrics.sum('ExternalCostUsd'), metrics.sum('CostUsd'), JSON.stringify(options));
    }
  });
});
