import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, ROOT, writeSection } from '../report';
import { reportTable } from './queue';
import { ATTEMPT_TIMEOUT_SECONDS, CONCURRENT_DUPLICATES, FAULTS, INVALID_OUTPUT, JOBS, LATE_DUPLICATES, MAX_RECEIVES, OUTAGE, RUN_TIMEOUT_SECONDS, type FaultReport } from './scenario';

/**
 * `npm run bench:faults`: the fault run on each cloud's adapter, beside the same run of the AWS
 * runtime as it was before its failure semantics were made exact (`FAULT_BASELINE`, a commit;
 * `FAULT_BASELINE=none` skips it). Each run is its own process. Exits non-zero when a target is
 * missed: a job lost, a success without valid output, a side effect twice, a finished job's
 * redelivery that ran anything.
 */
const BASELINE = process.env.FAULT_BASELINE ?? '2f20fd1';
const tsx = join(ROOT, 'node_modules/.bin/tsx');

function runDriver(script: string, env: NodeJS.ProcessEnv = {}): FaultReport {
  const result = spawnSync(tsx, [join(__dirname, script)], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LOOPBACK_LIFETIME_MS: '7200000', NODE_NO_WARNINGS: '1', ...env } });
  const line = result.stdout.split('\n').find((l) => l.startsWith('REPORT'));
  if (!line) throw new Error(`${script} failed (${result.status}):\n${result.stderr.slice(-4000)}`);
  return JSON.parse(line.slice('REPORT'.length)) as FaultReport;
}

/** The AWS bundle of another commit, built from its own sources in a worktree beside this one. */
function baselineBundle(commit: string): string {
  const dir = join(tmpdir(), `serverless-agents-baseline-${commit}`);
  if (!existsSync(dir)) {
    execFileSync('git', ['worktree', 'add', '--detach', dir, commit], { cwd: ROOT, stdio: 'ignore' });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  }
  const out = execFileSync(tsx, ['-e', "process.stdout.write(require('./constructs/bundle/runtime-bundle').runtimeBundleDir('aws'))"], { cwd: dir, encoding: 'utf8' });
  return join(out.trim(), 'index.mjs');
}

const reports: FaultReport[] = [];
for (const [label, run] of [
  ['AWS', () => runDriver('aws.ts')],
  ['Azure', () => runDriver('azure.ts')],
  ...(BASELINE === 'none' ? [] : [[`AWS baseline ${BASELINE}`, () => runDriver('aws.ts', { FAULT_BUNDLE: baselineBundle(BASELINE), FAULT_SUBMIT: 'direct', FAULT_ROUND_REMAINING: '1', FAULT_LABEL: `before (${BASELINE})` })]]),
] as [string, () => FaultReport][]) {
  process.stdout.write(`${label}: ${JOBS} jobs... `);
  const report = run();
  reports.push(report);
  console.log(`${report.seconds.toFixed(0)} s: ${report.succeeded} succeeded, ${report.failed} failed, ${report.deadLettered} dead-lettered, ${report.lost} lost, ${report.succeededWithoutValidOutput} without valid output, ${report.duplicateSideEffects} duplicate effects, ${report.lateDuplicatesThatRan} finished redeliveries that ran`);
}

const faultMix = FAULTS.map((f) => `${f.name} ${(f.share * 100).toFixed(0)}%`).join(', ');
writeSection(
  'faults',
  `## Failure semantics under faults (\`npm run bench:faults\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.

${JOBS} queued jobs per run for the example support agent (its two HTTP tools on loopback: \`lookup_order\`, and
\`create_ticket\`, a write whose service counts effects per \`Idempotency-Key\`), while model calls fail:
${faultMix} (about 30% of calls in all, drawn per call), plus ${(OUTAGE * 100).toFixed(0)}% of jobs whose every call
finds the target overloaded (a long outage) and ${(INVALID_OUTPUT * 100).toFixed(0)}% whose model answers output the rules refuse
even when asked to repair. The model fake picks each job's path afresh at its first step (look the
order up first, or open the ticket at once) and gives the ticket's fields in a random order, so a
retried job reaches the same write by another path. Each target's attempt timeout is ${ATTEMPT_TIMEOUT_SECONDS} s and the
run limit ${RUN_TIMEOUT_SECONDS} s. The queue is simulated as the service behaves: a message handed back comes again with
its receive (delivery) count raised, and one that fails its ${MAX_RECEIVES}rd delivery goes to the dead-letter queue;
${(LATE_DUPLICATES * 100).toFixed(0)}% of finished messages are delivered once more later, and ${(CONCURRENT_DUPLICATES * 100).toFixed(0)}% of jobs twice at once.

- **AWS**: the Lambda bundle as \`cdk synth\` stages it, imported with the function's environment;
  jobs submitted through its job route; Bedrock (primary) and the Anthropic API (fallback) fakes,
  S3, EventBridge, SQS and Secrets Manager fakes, DynamoDB in dynalite; a message handed back is
  visible again after ${RUN_TIMEOUT_SECONDS + 5} s (the visibility timeout, scaled like the run limit).
- **Azure**: the Functions handlers with real \`HttpRequest\`/\`InvocationContext\` objects, job status
  and audit in Azurite, Event Grid on loopback; the Anthropic API (primary) and an OpenAI-compatible
  endpoint (fallback); an abandoned message is delivered again at once, as Service Bus does, after
  the handler's own pause before giving it back (10 s, then 20 s).
- **Baseline**: the AWS bundle built from commit ${BASELINE} (before runs had attempt timeouts,
  terminal states, dead-letter marking and content-keyed writes), same workload; its jobs are
  written and queued as its API did. Its Lambda context reports remaining time in whole tens of
  milliseconds: with any other value its deadline had a fraction of a millisecond, which Node's
  timers refuse, and every queued run failed before its first model call (fixed since: deadlines
  are whole milliseconds). Its figures swing widely with timing from run to run (12, 21, 225 and
  473 jobs lost in four runs of this benchmark on this machine); this runtime met every target in
  each of them.

${reportTable(reports)}

Targets: 0 lost, 0 in the dead-letter queue without their job saying so, 0 succeeded without valid output,
0 duplicate side effects, 0 redeliveries of a finished job that ran anything.
`,
);

const missed = reports.filter((r) => r.runtime === 'this runtime' && (r.lost || r.deadLetteredUnannounced || r.succeededWithoutValidOutput || r.duplicateSideEffects || r.lateDuplicatesThatRan));
if (missed.length) {
  console.error(`targets missed on ${missed.map((r) => r.cloud).join(', ')}`);
  process.exit(1);
}
