import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { auditKey, chainKey } from '../../contract/audit/layout';
import { defineAgent, type AgentDefinitionInput } from '../../contract/definition';
import { main } from '../../bin/report';
import { MemoryAuditSink, type AuditRecord, type RunRecord } from '../../functions/core/audit/records';
import { ModelError, type ModelProvider, type ModelRequest, type ModelResponse } from '../../functions/core/models/types';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import type { FunctionInvoker } from '../../functions/core/tools/types';
import { assembleRuntime, type Runtime } from '../../functions/entry/assemble';
import { filterRecords, readAuditFolder, renderReport, summarize, type StoredRecord, type Summary } from '../../functions/report/report';
import { agentInput, REPO } from '../helpers';
import { ScriptedProvider, type ScriptStep, type Turn } from '../__fixtures__/scripted-provider';

/**
 * The operator's report over records the real runtime wrote: three agents of three cohorts run a
 * few days of work (answers, a broken contract, tool calls, a refused tool, fallbacks, an outage
 * and its retry, a step limit, a refused request) on scripted models, on a mocked clock so that
 * the days and the models' latencies are those of a real week and not of the test's millisecond.
 */

const DAYS = ['2026-03-02', '2026-03-03', '2026-03-04'] as const;
const at = (day: number, time: string) => Date.parse(`${DAYS[day]}T${time}Z`);
const FUTURE = '2030-01-15';
const PAST = '2020-01-15';

/** A scripted model with a latency: each call moves the mocked clock on, as long as a real model would take. */
class TimedModel implements ModelProvider {
  readonly provider = 'scripted';
  readonly script: ScriptStep[] = [];
  private readonly inner: ScriptedProvider;

  constructor(readonly model: string) {
    this.inner = new ScriptedProvider(model, this.script);
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const next = this.script[0];
    const turn = next && !(next instanceof ModelError) && typeof next !== 'function' ? next : undefined;
    mock.timers.tick(next instanceof ModelError ? 1_500 : 900 + 25 * (turn?.usage?.outputTokens ?? 20));
    return this.inner.complete(request);
  }
}

/** Function tools that take real time (the executor times them with the monotonic clock) and the same on the mocked one. */
const TOOL_MS: Record<string, number> = { 'invoice-lookup': 120, 'refund-issuer': 40, 'docs-search': 260 };
const functions: FunctionInvoker = {
  async invoke(name, payload) {
    const ms = TOOL_MS[name] ?? 50;
    await sleep(ms);
    mock.timers.tick(ms);
    const input = (payload as { input: { invoiceId?: string } }).input;
    if (input.invoiceId === 'inv_missing') throw new Error('invoice inv_missing not found');
    return name === 'docs-search' ? { hits: ['retention.md', 'audit.md'] } : { invoiceId: input.invoiceId, amount: 120, currency: 'EUR', status: 'paid' };
  },
};

const tool = (name: string, fn: string, sideEffect: 'read' | 'write' = 'read') => ({
  name,
  description: `${name} for tests.`,
  kind: 'function' as const,
  function: fn,
  sideEffect,
  input: { type: 'object', properties: { invoiceId: { type: 'string' }, query: { type: 'string' } } },
});

interface Fleet {
  readonly audit: MemoryAuditSink;
  readonly models: Record<string, TimedModel>;
  readonly agents: Record<string, Runtime>;
}

/** The runtime as every entry point assembles it, for one agent on its scripted models. */
async function fleet(): Promise<Fleet> {
  const audit = new MemoryAuditSink();
  const names = ['triage-sonnet', 'billing-haiku', 'billing-sonnet', 'research-opus'];
  const models = Object.fromEntries(names.map((n) => [n, new TimedModel(n)]));
  const assemble = (input: Partial<AgentDefinitionInput>, route: string[], price: { inputPerMTok: number; outputPerMTok: number }, toolPolicy?: { deniedTools: string[]; allowWrite: boolean }) =>
    assembleRuntime(
      { definition: defineAgent(agentInput({ model: { provider: 'bedrock', model: route[0]! }, ...input })), route: route.map((model) => ({ provider: 'bedrock' as const, model })), prices: Object.fromEntries(route.map((m) => [m, price])), ...(toolPolicy && { toolPolicy }) },
      { audit, metrics: new MemoryMetrics(), secret: async () => 'unused', functions, providers: { bedrock: async (target) => models[target.model]! } },
    );
  const agents = {
    'ticket-triage': await assemble(
      {
        name: 'ticket-triage',
        cohort: 'support',
        output: { schema: { type: 'object', required: ['category', 'dueBy'], properties: { category: { type: 'string' }, dueBy: { type: 'string' } } }, rules: [{ field: 'dueBy', check: 'future' }], maxRepairs: 0 },
      },
      ['triage-sonnet'],
      { inputPerMTok: 3, outputPerMTok: 15 },
    ),
    'billing-desk': await assemble(
      { name: 'billing-desk', cohort: 'finance', tools: [tool('lookup_invoice', 'invoice-lookup'), tool('issue_refund', 'refund-issuer', 'write')], limits: { maxSteps: 3 } },
      ['billing-haiku', 'billing-sonnet'],
      { inputPerMTok: 1, outputPerMTok: 5 },
      { deniedTools: [], allowWrite: false },
    ),
    'research-assistant': await assemble({ name: 'research-assistant', cohort: 'research', tools: [tool('search_docs', 'docs-search')] }, ['research-opus'], { inputPerMTok: 15, outputPerMTok: 75 }),
  };
  return { audit, models, agents };
}

const say = (text: string, inputTokens: number, outputTokens: number): Turn => ({ text, usage: { inputTokens, outputTokens } });
const call = (name: string, input: Record<string, string>, inputTokens: number, outputTokens = 60): Turn => ({ toolUses: [{ name, input }], usage: { inputTokens, outputTokens } });
const triaged = (dueBy: string, inputTokens = 1_800) => say(JSON.stringify({ category: 'billing', dueBy }), inputTokens, 90);
const overloaded = () => new ModelError('overloaded', 'the model is overloaded', 529);

interface Scenario {
  readonly agent: string;
  readonly runId: string;
  readonly start: number;
  /** Script lines by model. */
  readonly script: Record<string, ScriptStep[]>;
}

/** Three days of work: 14 attempts at 13 runs, 9 succeeded, 4 failed, 1 retryable. */
const SCENARIOS: Scenario[] = [
  { agent: 'ticket-triage', runId: 'run-t1', start: at(0, '08:12:00'), script: { 'triage-sonnet': [triaged(FUTURE)] } },
  { agent: 'billing-desk', runId: 'run-b1', start: at(0, '09:30:00'), script: { 'billing-haiku': [call('lookup_invoice', { invoiceId: 'inv_1001' }, 2_400), say('Invoice inv_1001 is paid: 120 EUR.', 2_900, 40)] } },
  { agent: 'research-assistant', runId: 'run-r1', start: at(0, '10:05:00'), script: { 'research-opus': [call('search_docs', { query: 'retention' }, 5_200, 120), call('search_docs', { query: 'audit' }, 7_900, 110), say('Audit records are kept for 400 days.', 11_300, 420)] } },
  { agent: 'ticket-triage', runId: 'run-t2', start: at(0, '14:40:00'), script: { 'triage-sonnet': [triaged(PAST)] } },
  { agent: 'ticket-triage', runId: 'run-t3', start: at(1, '08:01:00'), script: { 'triage-sonnet': [triaged(FUTURE, 2_100)] } },
  {
    agent: 'billing-desk',
    runId: 'run-b2',
    start: at(1, '09:15:00'),
    // The primary stays overloaded for both steps: each step tries it three times before falling back.
    script: { 'billing-haiku': Array.from({ length: 6 }, overloaded), 'billing-sonnet': [call('issue_refund', { invoiceId: 'inv_1002' }, 2_600), say('I cannot refund it myself; I have passed it on.', 3_100, 70)] },
  },
  { agent: 'billing-desk', runId: 'run-b3', start: at(1, '11:00:00'), script: { 'billing-haiku': [overloaded(), overloaded(), overloaded()], 'billing-sonnet': [overloaded(), overloaded(), overloaded()] } },
  { agent: 'research-assistant', runId: 'run-r2', start: at(1, '13:20:00'), script: { 'research-opus': [say('The runtime writes one object per attempt.', 4_100, 260)] } },
  // The caller's retry of the outage, an hour on: another attempt at the same run, which now succeeds.
  { agent: 'billing-desk', runId: 'run-b3', start: at(1, '12:00:00'), script: { 'billing-haiku': [call('lookup_invoice', { invoiceId: 'inv_1003' }, 2_300), say('Invoice inv_1003 is paid.', 2_800, 30)] } },
  { agent: 'ticket-triage', runId: 'run-t4', start: at(2, '07:45:00'), script: { 'triage-sonnet': [say('Billing, due next week.', 1_700, 12)] } },
  {
    agent: 'billing-desk',
    runId: 'run-b4',
    start: at(2, '09:05:00'),
    script: { 'billing-haiku': [call('lookup_invoice', { invoiceId: 'inv_missing' }, 2_200), call('lookup_invoice', { invoiceId: 'inv_missing' }, 2_700), call('lookup_invoice', { invoiceId: 'inv_missing' }, 3_200)] },
  },
  {
    agent: 'research-assistant',
    runId: 'run-r3',
    start: at(2, '10:30:00'),
    script: { 'research-opus': [call('search_docs', { query: 'cohorts' }, 6_000, 150), call('search_docs', { query: 'routing' }, 9_400, 130), call('search_docs', { query: 'prices' }, 12_800, 140), say('Cohorts pick routes and tool policies.', 16_900, 640)] },
  },
  { agent: 'research-assistant', runId: 'run-r4', start: at(2, '15:10:00'), script: { 'research-opus': [new ModelError('client', 'the request is too long', 400)] } },
  { agent: 'ticket-triage', runId: 'run-t5', start: at(2, '16:55:00'), script: { 'triage-sonnet': [triaged(FUTURE, 1_950)] } },
];

/** Runs every scenario in order of start on the mocked clock; the records the runtime wrote. */
async function generate(): Promise<AuditRecord[]> {
  const { audit, models, agents } = await fleet();
  for (const s of [...SCENARIOS].sort((a, b) => a.start - b.start)) {
    for (const model of Object.values(models)) model.script.length = 0;
    for (const [model, lines] of Object.entries(s.script)) models[model]!.script.push(...lines);
    mock.timers.setTime(s.start);
    await agents[s.agent]!.agent.run({ runId: s.runId, input: `work for ${s.runId}`, trigger: 'api', deadline: Date.now() + 120_000 });
  }
  return audit.records;
}

/**
 * Older runtimes wrote schema version 1: no version and no derived fields. The report derives
 * what it needs, so one run is stored as such a record.
 */
function asVersion1(record: AuditRecord): object {
  const { schemaVersion: _v, fallbacks: _f, validationFailures: _vf, ...rest } = record;
  if (rest.type === 'run') {
    const { outcome: _o, ...older } = rest;
    return older;
  }
  const { answeredBy: _a, failedTargets: _t, deniedTools: _d, ...older } = rest;
  return older;
}

/** The records in the store's layout: one object per attempt, and the chain index beside them. */
function writeLayout(dir: string, records: readonly AuditRecord[], legacyRun: string): void {
  const runs = records.filter((r): r is RunRecord => r.type === 'run');
  for (const run of runs) {
    const own = records.filter((r) => r.runId === run.runId && r.attempt === run.attempt && r.agent === run.agent);
    const lines = own.map((r) => JSON.stringify(r.runId === legacyRun ? asVersion1(r) : r));
    const key = auditKey(run.agent, run.startedAt.slice(0, 10), run.runId, run.attempt);
    mkdirSync(dirname(join(dir, key)), { recursive: true });
    writeFileSync(join(dir, key), `${lines.join('\n')}\n`);
    // A second copy of each run record, as the runtime leaves for chains: the report must not count it.
    const chain = join(dir, chainKey(run.agent, run.correlationId, run.runId, run.attempt));
    mkdirSync(dirname(chain), { recursive: true });
    writeFileSync(chain, JSON.stringify(run));
  }
}

const WRITTEN = { runs: 14, distinctRuns: 13, succeeded: 9, failed: 4, retryable: 1 };
const DOC_PNG = join(REPO, 'docs', 'report.png');

let folder: string;
let work: string;
let written: AuditRecord[];
let expected: { costUsd: number; inputTokens: number; outputTokens: number };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'report-test-'));
  folder = join(work, 'audit');
  mock.timers.enable({ apis: ['Date'], now: at(0, '00:00:00') });
  // The runtime logs each record as a line as well; the records themselves are what the test reads.
  const log = mock.method(console, 'log', () => {});
  try {
    written = await generate();
  } finally {
    log.mock.restore();
    mock.timers.reset();
  }
  writeLayout(folder, written, 'run-t2');
  const runs = written.filter((r): r is RunRecord => r.type === 'run');
  expected = { costUsd: runs.reduce((n, r) => n + r.costUsd, 0), inputTokens: runs.reduce((n, r) => n + r.usage.inputTokens, 0), outputTokens: runs.reduce((n, r) => n + r.usage.outputTokens, 0) };
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('the runs the report is tested on', () => {
  it('are what the runtime made of the scenarios', () => {
    const runs = written.filter((r): r is RunRecord => r.type === 'run');
    const outcomes = Object.fromEntries(runs.map((r) => [`${r.runId}:${r.startedAt.slice(11, 13)}`, `${r.outcome}/${r.stopReason}`]));
    assert.deepEqual(outcomes, {
      'run-t1:08': 'succeeded/end_turn',
      'run-b1:09': 'succeeded/end_turn',
      'run-r1:10': 'succeeded/end_turn',
      'run-t2:14': 'failed/end_turn',
      'run-t3:08': 'succeeded/end_turn',
      'run-b2:09': 'succeeded/end_turn',
      'run-b3:11': 'retryable/model_unavailable',
      'run-b3:12': 'succeeded/end_turn',
      'run-r2:13': 'succeeded/end_turn',
      'run-t4:07': 'failed/end_turn',
      'run-b4:09': 'failed/max_steps',
      'run-r3:10': 'succeeded/end_turn',
      'run-r4:15': 'failed/model_error',
      'run-t5:16': 'succeeded/end_turn',
    });
    assert.ok(expected.costUsd > 0.1, `the runs cost something: ${expected.costUsd}`);
  });
});

describe('summarize', () => {
  let records: StoredRecord[];
  let summary: Summary;
  before(async () => {
    records = await readAuditFolder(folder);
    summary = summarize(records);
  });

  it('reads every attempt once, skipping the chain index, and sums them up', () => {
    assert.equal(records.length, written.length);
    const { costUsd, inputTokens, outputTokens, costPerSuccessUsd, ...counts } = summary.totals;
    assert.deepEqual(counts, WRITTEN);
    assert.ok(Math.abs(costUsd - expected.costUsd) < 1e-12, `${costUsd} vs ${expected.costUsd}`);
    assert.equal(inputTokens, expected.inputTokens);
    assert.equal(outputTokens, expected.outputTokens);
    assert.ok(Math.abs(costPerSuccessUsd! - expected.costUsd / WRITTEN.succeeded) < 1e-12);
  });

  it('derives the outcome of records written before schema version 2', () => {
    const legacy = records.find((r) => r.type === 'run' && r.runId === 'run-t2');
    assert.ok(legacy && legacy.type === 'run' && legacy.outcome === undefined && legacy.validationFailures === undefined, 'the stored record is a version 1 record');
    assert.deepEqual(
      summary.failures.filter((f) => f.kind === 'validation').map((f) => [f.reason, f.count]),
      [
        ['parse:', 1],
        ['rule:dueBy', 1],
      ],
    );
  });

  it('splits by agent, cohort and day', () => {
    assert.deepEqual(Object.fromEntries(summary.agents.map((a) => [a.name, [a.runs, a.distinctRuns, a.succeeded, a.failed, a.retryable]])), {
      'ticket-triage': [5, 5, 3, 2, 0],
      'billing-desk': [5, 4, 3, 1, 1],
      'research-assistant': [4, 4, 3, 1, 0],
    });
    assert.deepEqual(summary.cohorts.map((c) => c.name).sort(), ['finance', 'research', 'support']);
    assert.deepEqual(summary.days, DAYS);
    assert.deepEqual(
      summary.dailyByAgent.filter((d) => d.group === 'billing-desk').map((d) => [d.day, d.runs]),
      [
        [DAYS[0], 1],
        [DAYS[1], 3],
        [DAYS[2], 1],
      ],
    );
    const day = summary.dailyByCohort.filter((d) => d.day === DAYS[2]);
    assert.ok(Math.abs(day.reduce((n, d) => n + d.costUsd, 0) - sumCost(written, DAYS[2])) < 1e-12);
  });

  it('names why runs failed: stop reasons, and validation problems for answers that broke the contract', () => {
    assert.deepEqual(Object.fromEntries(summary.failures.map((f) => [`${f.kind}:${f.reason}`, f.count])), {
      'stop:max_steps': 1,
      'stop:model_error': 1,
      'stop:model_unavailable': 1,
      'validation:parse:': 1,
      'validation:rule:dueBy': 1,
    });
  });

  it('lists the slowest attempts with their steps, tools and model fallbacks', () => {
    const durations = summary.slowest.map((r) => r.durationMs);
    assert.equal(summary.slowest.length, 10);
    assert.deepEqual(durations, [...durations].sort((a, b) => b - a));
    assert.equal(summary.slowest[0]!.runId, 'run-r3');
    const r3 = summary.timelines.find((t) => t.run.runId === 'run-r3')!;
    assert.deepEqual(
      r3.steps.map((s) => [s.step, s.tools.map((c) => `${c.name}:${c.status}`)]),
      [
        [1, ['search_docs:ok']],
        [2, ['search_docs:ok']],
        [3, ['search_docs:ok']],
        [4, []],
      ],
    );
    r3.steps.forEach((s, i) => assert.ok(i === 0 || s.offsetMs >= r3.steps[i - 1]!.offsetMs + r3.steps[i - 1]!.durationMs, 'steps follow each other'));
    assert.ok(r3.steps[0]!.tools[0]!.durationMs >= 200, 'tool durations are the real ones');
    // Every attempt that did not succeed has a timeline, with why in words.
    const failed = summary.timelines.filter((t) => t.run.outcome !== 'succeeded');
    assert.deepEqual(failed.map((t) => t.run.runId).sort(), ['run-b3', 'run-b4', 'run-r4', 'run-t2', 'run-t4']);
    assert.match(failed.find((t) => t.run.runId === 'run-t2')!.run.why!, /failed validation: dueBy/);
    // Run b2 on its own: whether it is among the slowest depends on the random backoff of its retries.
    const b2 = summarize(records.filter((r) => r.runId === 'run-b2')).timelines[0]!.steps;
    assert.deepEqual(
      b2.map((s) => [s.model, s.fallbacks, s.tools.map((c) => c.status)]),
      [
        ['billing-sonnet', 3, ['denied']],
        ['billing-sonnet', 3, []],
      ],
    );
  });

  it('filters by day and agent, keeping a run with its steps', () => {
    const day = filterRecords(records, { from: DAYS[1], to: DAYS[1] });
    assert.equal(summarize(day).totals.runs, 5);
    assert.ok(day.every((r) => r.startedAt.startsWith(DAYS[1])));
    const billing = summarize(filterRecords(records, { agent: 'billing-desk', from: DAYS[1] }));
    assert.deepEqual([billing.totals.runs, billing.totals.distinctRuns, billing.agents.length], [4, 3, 1]);
    assert.equal(summarize(filterRecords(records, { to: '2026-03-01' })).totals.runs, 0);
  });
});

const sumCost = (records: readonly AuditRecord[], day: string) => records.reduce((n, r) => n + (r.type === 'run' && r.startedAt.startsWith(day) ? r.costUsd : 0), 0);

describe('renderReport', () => {
  it('escapes what records say, so no value closes a tag or the data element', () => {
    const hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
    const run = { ...(written.find((r) => r.type === 'run' && r.runId === 'run-t2') as RunRecord), agent: hostile, cohort: `"${hostile}`, runId: `'${hostile}` };
    const step = { ...(written.find((r) => r.type === 'step' && r.runId === 'run-t2')!), agent: hostile, runId: run.runId };
    const summary = summarize([run, step]);
    const html = renderReport(summary, { title: hostile, generatedAt: new Date() });
    assert.doesNotMatch(html, /<script>alert|<img src=x/);
    assert.equal(html.match(/<script[\s>]/g)?.length, 3, 'the data, Chart.js and the page script, nothing more');
    const json = html.match(/<script type="application\/json" id="report-data">([^]*?)<\/script>/)![1]!;
    assert.equal(JSON.parse(json).agents[0].name, hostile);
    assert.match(html, /&#60;\/script&#62;&#60;script&#62;alert\(1\)/);
  });
});

describe('npm run report', () => {
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const log = mock.method(console, 'log', (...a: unknown[]) => out.push(a.join(' ')));
    const error = mock.method(console, 'error', (...a: unknown[]) => err.push(a.join(' ')));
    try {
      return { code: await main(argv), out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mock.restore();
      error.mock.restore();
    }
  };

  it('refuses a missing folder, one without records, bad days and no runs, with the reason', async () => {
    const empty = mkdtempSync(join(work, 'empty-'));
    const cases: [string[], RegExp][] = [
      [[join(work, 'nowhere')], /nowhere is not a folder/],
      [[empty], /no audit records under/],
      [[folder, '--from', '2026-02-30'], /--from must be a day as YYYY-MM-DD/],
      [[folder, '--to', 'yesterday'], /--to must be a day/],
      [[folder, '--from', DAYS[2], '--to', DAYS[0]], /is after --to/],
      [[folder, '--agent', 'nobody'], /no runs in .* for agent nobody/],
      [[], /which folder/],
      [[folder, '--colour', 'red'], /Unknown option '--colour'/],
    ];
    for (const [argv, reason] of cases) {
      const { code, err } = await run(...argv);
      assert.equal(code, 1, argv.join(' '));
      assert.match(err, reason);
    }
    assert.match((await run('--from', 'x')).err, /aws s3 sync s3:\/\/.*az storage blob download-batch/s, 'the usage says where folders come from');
  });

  describe('the page, in headless Chromium', () => {
    const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
    let browser: Browser | undefined;
    let html: string;
    let out: string;

    /** Launched in the test, not in a hook, so that a missing Chromium fails it rather than cancels it. */
    const launch = async () => {
      assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      return browser;
    };

    before(async () => {
      out = join(work, 'out', 'report.html');
      const result = await run(folder, '--out', out);
      assert.equal(result.code, 0, result.err);
      assert.match(result.out, new RegExp(`wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(result.out, /14 runs \(13 distinct\): 9 succeeded, 4 failed, 1 retryable/);
      html = readFileSync(out, 'utf8');
    });

    after(async () => {
      await browser?.close();
    });

    it('shows the totals and draws every chart, offline and without errors', async () => {
      assert.doesNotMatch(html, /<(script|link|img|iframe)[^>]+(src|href)=/i, 'the page references no file or URL');
      const page = await (await launch()).newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));
      await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
      await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });

      assert.equal(await page.textContent('[data-total="runs"]'), String(WRITTEN.runs));
      assert.equal(await page.textContent('[data-total="cost"]'), `$${expected.costUsd.toFixed(4)}`);
      assert.equal(await page.textContent('[data-total="succeeded"]'), String(WRITTEN.succeeded));
      assert.equal(await page.textContent('[data-total="input-tokens"]'), expected.inputTokens.toLocaleString('en-US'));

      const canvases = await page.$$eval('canvas', (all) =>
        all.map((c) => {
          const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
          let inked = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) inked++;
          return { id: c.id, width: c.width, height: c.height, charted: Boolean((globalThis as unknown as { Chart: { getChart(c: unknown): unknown } }).Chart.getChart(c)), inked };
        }),
      );
      assert.deepEqual(canvases.map((c) => c.id).sort(), ['chart-cost-per-day', 'chart-failures', 'chart-runs-per-day', 'chart-tokens-per-agent']);
      for (const c of canvases) assert.ok(c.charted && c.width > 0 && c.height > 0 && c.inked > 500, `${c.id} is drawn: ${JSON.stringify(c)}`);
      const { timelines } = summarize(await readAuditFolder(folder));
      assert.ok(timelines.length > 10);
      assert.equal(await page.locator('.timeline').count(), timelines.length, 'the 10 slowest and the other failed attempts');
      assert.ok((await page.locator('.bar.tool.denied').count()) >= 1 && (await page.locator('.bar.tool.error').count()) >= 1);

      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [pathToFileURL(out).href], 'the page requests nothing but itself');

      // The docs' picture is refreshed only on request, not on every test run.
      const shot = process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(DOC_PNG) ? DOC_PNG : join(work, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);
      await page.close();
    });
  });
});
