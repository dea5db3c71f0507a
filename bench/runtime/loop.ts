import Anthropic from '@anthropic-ai/sdk';
import { defineAgent } from '../../contract/definition';
import { OPEN_TOOL_POLICY } from '../../contract/policy/tool-policy';
import { Agent } from '../../functions/core/agent/agent';
import { AnthropicProvider } from '../../functions/core/models/anthropic';
import { ModelRouter } from '../../functions/core/models/router';
import { AgentSkills } from '../../functions/core/skills/skills';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { FunctionToolTransport } from '../../functions/core/tools/function';
import { startAnthropicFake } from '../../test/__fixtures__/model-fakes';

/**
 * Loop overhead per step: the runtime's agent loop and a minimal hand-written loop, both on the
 * real Anthropic SDK against a loopback fake that answers at once. Every step is a model call that
 * asks for one tool, whose (in-process) result goes back; the last step answers. Prints JSON.
 */
const STEPS = Number(process.env.STEPS ?? 20);
const RUNS = Number(process.env.RUNS ?? 30);
const tool = { name: 'lookup', description: 'Look something up.', input: { type: 'object', required: ['q'], properties: { q: { type: 'string' } } } };

async function main() {
  const fake = await startAnthropicFake((_body, index) => (index % STEPS === STEPS - 1 ? { text: 'done' } : { toolUses: [{ name: 'lookup', input: { q: `step ${index}` } }] }));
  const lookup = async (input: unknown) => ({ found: (input as { q: string }).q });

  // The runtime: definition, router, policy, schema validation, audit records, metrics, spans.
  const definition = defineAgent({ name: 'bench', description: 'Benchmark agent.', model: 'fast', instructions: 'You look things up.', tools: [{ ...tool, kind: 'function', function: 'lookup' }], limits: { maxSteps: 100 } });
  const agent = new Agent(definition, {
    router: new ModelRouter([{ provider: 'anthropic', model: 'claude-haiku-4-5', apiKeySecret: 'k' }], async (t) => new AnthropicProvider({ model: t.model, apiKey: 'sk-bench', baseURL: fake.url })),
    skills: await AgentSkills.open({ read: async () => undefined }, []),
    transports: { function: new FunctionToolTransport({ invoke: async (_name, payload) => lookup((payload as { input: unknown }).input) }) },
    audit: { write: async () => {} },
    metrics: new MemoryMetrics(),
    prices: { 'claude-haiku-4-5': { inputPerMTok: 1, outputPerMTok: 5 } },
    toolPolicy: OPEN_TOOL_POLICY,
  });

  // The floor: the same SDK, the same conversation, nothing else.
  const client = new Anthropic({ apiKey: 'sk-bench', baseURL: fake.url, maxRetries: 0 });
  async function handWritten(): Promise<number> {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'go' }];
    for (let step = 1; ; step++) {
      const response = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 1024, system: 'You look things up.', tools: [{ name: tool.name, description: tool.description, input_schema: tool.input as Anthropic.Tool.InputSchema }], messages });
      const uses = response.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      if (response.stop_reason !== 'tool_use') return step;
      messages.push({ role: 'assistant', content: response.content });
      messages.push({ role: 'user', content: await Promise.all(uses.map(async (u) => ({ type: 'tool_result' as const, tool_use_id: u.id, content: JSON.stringify(await lookup(u.input)) }))) });
    }
  }

  const log = console.log;
  console.log = () => {}; // the runtime's audit lines; Lambda writes them, the bench has no reader
  const time = async (f: () => Promise<unknown>) => {
    const started = performance.now();
    await f();
    return performance.now() - started;
  };
  const runtime: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < 5; i++) {
    await handWritten();
    await agent.run({ runId: `warm${i}`, input: 'go', trigger: 'bench', deadline: Date.now() + 60_000 });
  }
  for (let i = 0; i < RUNS; i++) {
    // Interleaved so both see the same machine state.
    floor.push(await time(handWritten));
    runtime.push(await time(() => agent.run({ runId: `run${i}`, input: 'go', trigger: 'bench', deadline: Date.now() + 60_000 })));
  }
  console.log = log;
  await fake.close();
  console.log(JSON.stringify({ steps: STEPS, runs: RUNS, runtimeMs: runtime, floorMs: floor }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
