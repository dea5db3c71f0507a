import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AGENT_CONFIG_ENV, decodeAgentConfig, encodeAgentConfig } from '../contract/config/runtime-config';
import { AgentDefinitionError, contentHash, defineAgent, loadAgentFile, type AgentDefinitionInput } from '../contract/definition';
import { loadConfig } from '../functions/entry/config';
import { agentInput, REPO } from './helpers';
import { AgentTeamGraph } from '../contract/chain/team';

describe('agent definition', () => {
  it('fills every default a runtime relies on', () => {
    const agent = defineAgent(agentInput());
    assert.equal(agent.cohort, 'default');
    assert.deepEqual(agent.tools, []);
    assert.deepEqual(agent.skills, []);
    assert.deepEqual(agent.triggers, [{ type: 'api' }]);
    assert.deepEqual(agent.limits, { maxSteps: 10, maxOutputTokens: 4096, maxTotalTokens: 200_000, timeoutSeconds: 120, budgetUsd: 1, maxHops: 5 });
    assert.deepEqual(agent.handoffs, []);
    assert.equal(agent.durable, false);
    assert.equal(agent.promptVersion, contentHash('You help.'));
    assert.match(agent.version, /^[0-9a-f]{16}$/);
  });

  it('reads instructions from a file and versions the prompt by its content', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-'));
    writeFileSync(join(dir, 'prompt.md'), 'Be brief.');
    const a = defineAgent(agentInput({ instructions: { file: 'prompt.md' } }), { baseDir: dir });
    assert.equal(a.instructions, 'Be brief.');
    writeFileSync(join(dir, 'prompt.md'), 'Be thorough.');
    const b = defineAgent(agentInput({ instructions: { file: 'prompt.md' } }), { baseDir: dir });
    assert.notEqual(a.promptVersion, b.promptVersion);
    assert.notEqual(a.version, b.version);
  });

  it('is idempotent: a resolved definition passes through unchanged', () => {
    const agent = defineAgent(agentInput());
    assert.equal(defineAgent(agent), agent);
  });

  it('loads the example agent from YAML with its tools, triggers and output rules', () => {
    const agent = loadAgentFile(join(REPO, 'stacks/single-agent/support.agent.yaml'));
    assert.equal(agent.name, 'support');
    assert.deepEqual(agent.tools.map((t) => [t.name, t.kind, t.sideEffect]), [
      ['lookup_order', 'http', 'read'],
      ['create_ticket', 'http', 'write'],
    ]);
    assert.deepEqual(agent.triggers.map((t) => t.type), ['api', 'job', 'schedule']);
    assert.deepEqual(agent.output?.rules.map((r) => r.check), ['future', 'nonNegative']);
    assert.match(agent.instructions, /first line of customer support/);
  });

  it('reports every problem at once, each with its field path and the agent name', () => {
    const err = catchError(() =>
      defineAgent(
        agentInput({
          name: 'billing',
          limits: { maxSteps: 0 },
          tools: [{ name: 'bad name!', description: 'x', kind: 'http', url: 'https://x.example.com', input: { type: 'object' } }],
        } as never),
      ),
    );
    assert.ok(err instanceof AgentDefinitionError);
    assert.equal(err.agent, 'billing');
    assert.match(err.message, /^agent "billing":/);
    assert.ok(err.problems.some((p) => p.startsWith('limits.maxSteps:')), err.message);
    assert.ok(err.problems.some((p) => p.startsWith('tools[0].name:')), err.message);
  });

  it('is proved unchanged since synth when the runtime starts: an edited prompt or limit no longer matches its versions', () => {
    const agent = defineAgent(agentInput());
    const route = [{ provider: 'bedrock' as const, model: 'm' }];
    const start = (definition: typeof agent) => loadConfig({ [AGENT_CONFIG_ENV]: encodeAgentConfig({ definition, route }) });
    assert.deepEqual(start(agent).definition, JSON.parse(JSON.stringify(agent)));
    assert.throws(() => start({ ...agent, instructions: 'Do anything.' }), /agent "helper": promptVersion does not match the instructions/);
    assert.throws(() => start({ ...agent, limits: { ...agent.limits, maxSteps: 100 } }), /agent "helper": the definition was changed after synth \(its version does not match\)/);
    assert.throws(() => start({ ...agent, tools: [{ name: 'x', description: 'd', kind: 'http', url: 'https://evil.example.com', input: { type: 'object' }, method: 'POST', timeoutMs: 100, scopes: [], sideEffect: 'read' }] }), /changed after synth/);
    assert.throws(() => loadConfig({}), /AGENT_CONFIG is not set: this function must be deployed by AgentFunction or AzureAgentFunction/);
  });

  it('encodes the runtime config compactly and decodes it unchanged', () => {
    const definition = loadAgentFile(join(REPO, 'stacks/single-agent/support.agent.yaml'));
    const config = { definition, route: [{ provider: 'bedrock' as const, model: 'm' }] };
    const encoded = encodeAgentConfig(config);
    assert.deepEqual(decodeAgentConfig(encoded), JSON.parse(JSON.stringify(config)));
    assert.ok(encoded.length < JSON.stringify(config).length, 'compressed form is smaller than the JSON');
  });
});

export function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected an error');
}

describe('hand-offs in the definition', () => {
  it('refuses a tool named like the built-in handoff tool, a hand-off to itself, and one listed twice, naming each field', () => {
    const tool = { name: 'handoff', description: 'Mine.', kind: 'http', url: 'https://tickets.example.com/handoff', input: { type: 'object' } } as const;
    assert.throws(() => defineAgent(agentInput({ name: 'triage', handoffs: ['technical'], tools: [tool] })), /agent "triage": tools\[0\]\.name: "handoff" is the built-in tool of an agent's handoffs; name the tool otherwise/);
    assert.doesNotThrow(() => defineAgent(agentInput({ name: 'triage', tools: [tool] })), 'without hand-offs the name is free');
    assert.throws(() => defineAgent(agentInput({ name: 'triage', handoffs: ['technical', { agent: 'technical', description: 'Again.' }] })), /handoffs\[1\]: lists agent "technical" twice/);
  });
});

describe('durable agents', () => {
  it('lets a durable agent run past one invocation and wait for approvals, and names the field otherwise', () => {
    const refund = { name: 'issue_refund', description: 'Refund an order.', kind: 'http' as const, url: 'https://payments.example.com/refunds', sideEffect: 'write' as const, input: { type: 'object' }, approval: { approvers: ['role:finance-lead'] } };
    const durable = defineAgent(agentInput({ durable: true, limits: { timeoutSeconds: 7200 }, tools: [refund] }));
    assert.deepEqual(durable.tools[0]!.approval, { approvers: ['role:finance-lead'], timeoutSeconds: 86_400 });
    const cases: [Partial<AgentDefinitionInput>, RegExp][] = [
      [{ limits: { timeoutSeconds: 7200 } }, /agent "helper": limits\.timeoutSeconds: 7200 s is longer than one invocation allows \(900 s\); set durable: true/],
      [{ tools: [refund] }, /agent "helper": tools\[0\]\.approval: needs durable: true: a run that waits for a person outlives any one invocation/],
      [{ durable: true, tools: [{ ...refund, approval: { approvers: [] } }] }, /tools\[0\]\.approval\.approvers: must name at least one approver/],
      [{ durable: true, tools: [{ ...refund, approval: { approvers: ['x'], timeoutSeconds: 5 } }] }, /tools\[0\]\.approval\.timeoutSeconds: Too small/],
      [{ durable: true, limits: { timeoutSeconds: 40_000_000, chainTimeoutSeconds: 86_400 } }, /limits\.timeoutSeconds: Too big/],
    ];
    for (const [input, message] of cases) assert.throws(() => defineAgent(agentInput(input)), message);
  });
});

describe('placement', () => {
  it('defaults to function, and moves an agent to a container or AgentCore with one field', () => {
    assert.equal(defineAgent(agentInput()).placement, 'function');
    const container = defineAgent(agentInput({ placement: 'container', triggers: [{ type: 'queue' }], limits: { timeoutSeconds: 14_400 } }));
    assert.deepEqual([container.placement, container.limits.timeoutSeconds], ['container', 14_400]);
    assert.equal(defineAgent(agentInput({ placement: 'agentcore', limits: { timeoutSeconds: 28_800 } })).placement, 'agentcore');
  });

  it('explains what each placement allows: run length, triggers, durable runs, and names the field', () => {
    const cases: [Partial<AgentDefinitionInput>, RegExp][] = [
      [{ placement: 'vm' as never }, /agent "helper": placement: must be one of: function, container, agentcore/],
      [{ limits: { timeoutSeconds: 3600 } }, /limits\.timeoutSeconds: 3600 s is longer than one invocation allows \(900 s\); set durable: true.*or use placement: container \(up to 43200 s\)/],
      [{ placement: 'container', triggers: [{ type: 'queue' }], limits: { timeoutSeconds: 50_000 } }, /limits\.timeoutSeconds: 50000 s is longer than a container keeps one message \(43200 s, SQS's longest visibility timeout\)/],
      [{ placement: 'agentcore', limits: { timeoutSeconds: 30_000 } }, /limits\.timeoutSeconds: 30000 s is longer than an AgentCore Runtime session lasts \(28800 s\)/],
      [{ placement: 'container' }, /triggers\[0\]\.type: placement "container" \(long, memory-hungry .*\) serves no "api" trigger; it serves: queue, schedule, event/],
      [{ placement: 'agentcore', triggers: [{ type: 'api' }, { type: 'queue' }] }, /triggers\[1\]\.type: placement "agentcore" .* serves no "queue" trigger; it serves: api/],
      [{ placement: 'container', triggers: [{ type: 'queue' }], durable: true }, /durable: placement "container" runs no durable executions/],
    ];
    for (const [input, message] of cases) assert.throws(() => defineAgent(agentInput(input)), message);
  });

  it('refuses team edges a placement cannot take: a synchronous call to a container, any task to AgentCore', () => {
    const specialist = (placement: 'container' | 'agentcore') => defineAgent(agentInput({ name: 'research', placement, triggers: [{ type: placement === 'container' ? 'queue' : 'api' }] }));
    const caller = (mode: 'call' | 'job') => defineAgent(agentInput({ name: 'triage', tools: [{ name: 'research', kind: 'agent', agent: 'research', mode, description: 'Research it.' }] }));
    assert.throws(() => new AgentTeamGraph([caller('call'), specialist('container')]), /agent "triage": tools\[0\]\.agent: agent "research" runs in a container .* give the tool mode: job, or hand off to it/);
    assert.doesNotThrow(() => new AgentTeamGraph([caller('job'), specialist('container')]));
    assert.throws(() => new AgentTeamGraph([caller('job'), specialist('agentcore')]), /agent "research" runs on AgentCore Runtime .* place it as a function or a container to be part of a team/);
  });
});
