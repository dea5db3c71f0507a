import { withDurableExecution, type DurableContext } from '@aws/durable-execution-sdk-js';
import { LocalDurableTestRunner } from '@aws/durable-execution-sdk-js-testing';
import { defineAgent } from '../../contract/definition';
import { durableSteps } from '../../functions/aws/durable';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { ZERO_USAGE, type ModelProvider, type ModelRequest, type ModelResponse } from '../../functions/core/models/types';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime, type Runtime } from '../../functions/entry/assemble';
import { approvalDecided, approvalRequested, runDurable } from '../../functions/entry/durable';
import { runQueued } from '../../functions/entry/queued';
import { machine, median, writeSection } from '../report';

/**
 * What durability costs per step: the same runs of model turns (each asking for a skill the agent
 * lacks, which the runtime answers in-process, the last answering), on a model that answers at
 * once, (a) as a queued run in one invocation and (b) as a durable run on Lambda's durable
 * execution engine, through its local runner (a checkpoint server in a worker thread). Runs of
 * SHORT and LONG turns separate the runner's fixed cost per execution from the cost per recorded
 * step. Interleaved; medians.
 */
const SHORT = 2;
const LONG = 10;
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
// The runner installs fake timers, which fake performance.now too: the real clock, kept before.
const now = performance.now.bind(performance);

class InstantModel implements ModelProvider {
  readonly provider = 'bench';
  readonly model = 'bench-model';
  constructor(private readonly turns: number) {}
  async complete(request: ModelRequest): Promise<ModelResponse> {
    const usage = { ...ZERO_USAGE, inputTokens: 100, outputTokens: 10 };
    const turn = request.messages.filter((m) => m.role === 'assistant').length + 1;
    if (turn < this.turns) return { content: [{ type: 'tool_use', id: `t${turn}`, name: 'unknown_tool', input: {} }], stopReason: 'tool_use', usage, raw: {} };
    return { content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn', usage, raw: {} };
  }
}

async function runtime(durable: boolean, turns: number): Promise<Runtime> {
  const definition = defineAgent({ name: 'bench', description: 'Bench.', model: 'smart', instructions: 'Work.', durable, limits: { maxSteps: turns + 1, timeoutSeconds: 600 } });
  const model = new InstantModel(turns);
  return assembleRuntime({ definition, route: [{ provider: 'bedrock', model: model.model }] }, { jobs: new MemoryJobStore(), metrics: new MemoryMetrics(), secret: async () => '', providers: { bedrock: async () => model } });
}

/** Steps recorded per run: the start, each model turn, each tool step, and the job record's two writes. */
const recorded = (turns: number) => 1 + turns + (turns - 1) + 2;

async function measure(turns: number): Promise<{ plain: number; durable: number }> {
  const plain = await runtime(false, turns);
  const durable = await runtime(true, turns);
  const handler = withDurableExecution(async (event: { runId: string }, ctx: DurableContext) => {
    const run = { runId: event.runId, jobId: event.runId, trigger: 'job' as const, input: 'Go.' };
    return runDurable(durable, run, durableSteps(ctx, { requested: approvalRequested(durable, run), decided: approvalDecided(durable, run) }));
  });
  const times = { plain: [] as number[], durable: [] as number[] };
  for (let i = -5; i < RUNS; i++) {
    let started = now();
    await runQueued(plain, { runId: `p-${turns}-${i}`, jobId: `p-${turns}-${i}`, trigger: 'job', input: 'Go.' }, { deadline: Date.now() + 60_000 });
    if (i >= 0) times.plain.push(now() - started);
    await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });
    started = now();
    const execution = await runner.run({ payload: { runId: `d-${turns}-${i}` } });
    if (i >= 0) times.durable.push(now() - started);
    await LocalDurableTestRunner.teardownTestEnvironment();
    if (execution.getStatus() !== 'SUCCEEDED') throw new Error(`durable run ${i} ended ${execution.getStatus()}`);
  }
  return { plain: median(times.plain), durable: median(times.durable) };
}

async function main(): Promise<void> {
  const log = console.log;
  console.log = () => {};
  const short = await measure(SHORT);
  const long = await measure(LONG);
  console.log = log;
  const perStep = (long.durable - short.durable - (long.plain - short.plain)) / (recorded(LONG) - recorded(SHORT));
  const fixed = short.durable - short.plain - perStep * recorded(SHORT);
  const row = (turns: number, m: { plain: number; durable: number }) =>
    `| ${turns} turns, ${recorded(turns)} recorded steps | ${m.plain.toFixed(2)} | ${m.durable.toFixed(1)} | ${(m.durable / m.plain).toFixed(0)}x |`;
  writeSection(
    'durable',
    `## Durable runs: the cost of a recorded step (\`npm run bench:durable\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.

Runs of ${SHORT} and ${LONG} model turns (each but the last asking for a tool the runtime answers in-process), on a
model that answers at once, ${RUNS} runs of each, interleaved after 5 warm-up runs; medians, on the real clock (the
runner fakes timers). *Baseline*: the queued run in one invocation. *Durable*: the same runtime on Lambda's
durable execution engine as its local test runner emulates it, every step checkpointed through the runner's
checkpoint server in a worker thread.

| run | baseline, ms | durable, ms | ratio |
|---|---:|---:|---:|
${row(SHORT, short)}
${row(LONG, long)}

From the two: **${perStep.toFixed(1)} ms per recorded step** and ${fixed.toFixed(0)} ms per execution (the runner starting and
invoking the handler). Both are the local runner's own costs (a worker thread, an HTTP checkpoint server, the
handler re-invoked on each wait); in Lambda a checkpoint is one call to the durable execution API, and either way
it stays small against model turns of seconds. The loop's own work per step is the baseline column.`,
  );
  console.log(JSON.stringify({ short, long, perStep, fixed }));
}

void main();
