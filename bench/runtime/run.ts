import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { machine, median, writeSection } from '../report';

/**
 * The runtime's cost: (a) loop overhead per step against a model fake that answers at once, beside a
 * minimal hand-written loop on the same SDK; (b) the bundle's size and cold init beside a floor that
 * only imports and constructs the SDK clients it needs. Each part runs in its own process.
 */
const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules/.bin/tsx');
const json = (script: string, env: NodeJS.ProcessEnv = {}) =>
  JSON.parse(execFileSync(tsx, [join(__dirname, script)], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!);

const STEPS = 20;
const loop = json('loop.ts', { STEPS: String(STEPS), RUNS: process.env.BENCH_RUNS ?? '60' }) as { runtimeMs: number[]; floorMs: number[]; runs: number };
const runtimeStep = median(loop.runtimeMs) / STEPS;
const floorStep = median(loop.floorMs) / STEPS;
// Runs were interleaved, so each pair saw the same machine; the median paired difference is the overhead.
const overheadStep = median(loop.runtimeMs.map((r, i) => r - loop.floorMs[i]!)) / STEPS;

const bundle = json('bundle.ts', { RUNS: process.env.BENCH_RUNS ? '9' : '21' }) as {
  runtime: { atStart: number; total: number; initMs: number };
  floor: { atStart: number; total: number; initMs: number };
};
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

writeSection(
  'runtime',
  `## Runtime: loop overhead and cold start (\`npm run bench:runtime\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.

**(a) Loop overhead per step.** Runs of ${STEPS} steps (each a model call asking for one tool, whose
in-process result goes back; the last answers), on the real Anthropic SDK against a loopback fake
that answers at once. The runtime does everything it does in Lambda (policy, JSON Schema check of
the tool input, spans through the OpenTelemetry API, audit records, metrics) except writing them out;
the hand-written loop calls the SDK and the tool, nothing else. ${loop.runs} runs of each, interleaved; medians.

| loop | ms per step |
|---|---:|
| serverless-agents runtime | ${runtimeStep.toFixed(3)} |
| hand-written loop, same SDK | ${floorStep.toFixed(3)} |
| runtime overhead (median paired difference) | ${overheadStep.toFixed(3)} |

Ratio ${(runtimeStep / floorStep).toFixed(2)}x (target: within 1.2x); overhead ${overheadStep.toFixed(2)} ms per step (target: under 1 ms).

**(b) Bundle and cold init.** The runtime bundle as \`cdk synth\` stages it, beside a floor bundle built
with the same esbuild options from a handler that only imports and constructs the clients the example
agent needs (Bedrock Runtime, S3, EventBridge, DynamoDB). *At start* is the entry and the chunks it
imports statically; the rest (model providers, the MCP client, zod, Powertools batch and idempotency,
the Lambda, SQS and Secrets Manager clients) loads on first use. *Cold init* is the time a fresh Node
process takes to import the handler module; median of ${process.env.BENCH_RUNS ? 9 : 21}.

| bundle | at start | all files | cold init ms |
|---|---:|---:|---:|
| serverless-agents runtime | ${kib(bundle.runtime.atStart)} | ${kib(bundle.runtime.total)} | ${bundle.runtime.initMs.toFixed(1)} |
| floor: SDK clients only | ${kib(bundle.floor.atStart)} | ${kib(bundle.floor.total)} | ${bundle.floor.initMs.toFixed(1)} |

Size at start ${(bundle.runtime.atStart / bundle.floor.atStart).toFixed(2)}x and cold init ${(bundle.runtime.initMs / bundle.floor.initMs).toFixed(2)}x the floor (target: within 1.3x).
`,
);
console.log(
  `loop ${runtimeStep.toFixed(3)} vs ${floorStep.toFixed(3)} ms/step (overhead ${overheadStep.toFixed(3)}); bundle ${kib(bundle.runtime.atStart)} vs ${kib(bundle.floor.atStart)} at start, init ${bundle.runtime.initMs.toFixed(1)} vs ${bundle.floor.initMs.toFixed(1)} ms`,
);
