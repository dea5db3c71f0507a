import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runVerdict, type RunVerdict } from '../../contract/runs/results';
import type { RunRecord, StepRecord } from '../core/audit/records';

/**
 * The operator's report: audit records read from a local copy of the audit store (an
 * `aws s3 sync` or `az storage blob download-batch` of it), summed up, and rendered as one
 * self-contained HTML page with Chart.js inlined, so it opens offline and can be mailed around.
 */

// ---------------------------------------------------------------------------------------------
// Records as stored
// ---------------------------------------------------------------------------------------------

/** What the reader drops: whole prompts and answers, which the report never shows and a month of which would not fit in memory. */
type Bulky = 'input' | 'output' | 'structuredOutput' | 'request' | 'response';

/** A run record as stored, without its bulky fields: records of schema version 1 lack the derived fields. */
export type StoredRun = Omit<RunRecord, Bulky | 'schemaVersion' | 'outcome' | 'fallbacks'> & Partial<Pick<RunRecord, 'schemaVersion' | 'outcome' | 'fallbacks'>>;
/** A step record as stored, without its bulky fields: records of schema version 1 lack the derived fields. */
export type StoredStep = Omit<StepRecord, Bulky | 'schemaVersion' | 'fallbacks' | 'answeredBy' | 'failedTargets' | 'deniedTools'> &
  Partial<Pick<StepRecord, 'schemaVersion' | 'fallbacks' | 'answeredBy' | 'failedTargets' | 'deniedTools'>>;
export type StoredRecord = StoredRun | StoredStep;

/**
 * Every record of every `*.jsonl` object under `dir`, in path order. The chain index
 * (`chain=ID/` folders) is skipped: it repeats run records the `date=` partitions already hold.
 */
export async function readAuditFolder(dir: string): Promise<StoredRecord[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`${dir} is not a folder`);
  const files = (await jsonlFiles(dir)).sort();
  const records: StoredRecord[] = [];
  for (const file of files) records.push(...parseJsonl(await readFile(file, 'utf8'), file));
  return records;
}

async function jsonlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (e): Promise<string[]> => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return e.name.startsWith('chain=') ? [] : jsonlFiles(path);
      return e.isFile() && e.name.endsWith('.jsonl') ? [path] : [];
    }),
  );
  return nested.flat();
}

/** The run and step records of one JSON Lines object; a line that is not JSON names its place. */
function parseJsonl(text: string, file: string): StoredRecord[] {
  return text.split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1} is not JSON: ${(e as Error).message}`);
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (type !== 'run' && type !== 'step') return [];
    const { input: _i, output: _o, structuredOutput: _s, request: _q, response: _r, ...light } = value as Record<Bulky, unknown>;
    return [light as unknown as StoredRecord];
  });
}

// ---------------------------------------------------------------------------------------------
// Filtering
// ---------------------------------------------------------------------------------------------

export interface RecordFilter {
  /** First day kept, `YYYY-MM-DD` UTC, inclusive. */
  readonly from?: string;
  /** Last day kept, inclusive. */
  readonly to?: string;
  readonly agent?: string;
}

/** The UTC day of a timestamp, as the layout's `date=` partition names it. */
export const dayOf = (iso: string): string => {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso.slice(0, 10) : new Date(ms).toISOString().slice(0, 10);
};

const attemptKey = (r: { agent: string; runId: string; attempt: string }) => `${r.agent}\u0000${r.runId}\u0000${r.attempt}`;

/**
 * The records within `filter`. A step goes with its run's attempt, by the attempt's start, so a
 * run that crossed midnight is never cut in two; a step without its run record goes by its own start.
 */
export function filterRecords(records: readonly StoredRecord[], filter: RecordFilter): StoredRecord[] {
  const admits = (r: StoredRecord) => (!filter.agent || r.agent === filter.agent) && (!filter.from || dayOf(r.startedAt) >= filter.from) && (!filter.to || dayOf(r.startedAt) <= filter.to);
  const runs = records.filter((r): r is StoredRun => r.type === 'run');
  const known = new Set(runs.map(attemptKey));
  const kept = new Set(runs.filter(admits).map(attemptKey));
  return records.filter((r) => (r.type === 'run' || known.has(attemptKey(r)) ? kept.has(attemptKey(r)) : admits(r)));
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

export type Outcome = RunVerdict['outcome'];

export interface Totals {
  /** Run records: one per attempt at a run. */
  readonly runs: number;
  /** Distinct run ids (per agent): a run tried again counts once. */
  readonly distinctRuns: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly retryable: number;
  readonly costUsd: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Everything spent, failed attempts included, over the attempts that succeeded; null without one. */
  readonly costPerSuccessUsd: number | null;
}

export interface GroupTotals extends Totals {
  readonly name: string;
}

/** One group's (an agent's, a cohort's) runs on one day. */
export interface DailyRow {
  readonly day: string;
  readonly group: string;
  readonly runs: number;
  readonly costUsd: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface FailureReason {
  /** A run's stop reason (`max_steps`, `model_unavailable`, …) or a validation problem as `kind:path`. */
  readonly reason: string;
  readonly kind: 'stop' | 'validation';
  /** Run attempts it ended. */
  readonly count: number;
}

/** One attempt at a run, as the tables show it. */
export interface RunRow {
  readonly agent: string;
  readonly cohort: string;
  readonly runId: string;
  readonly attempt: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly steps: number;
  readonly outcome: Outcome;
  readonly stopReason: string;
  readonly costUsd: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** `provider/model` of the last step's answer. */
  readonly answeredBy?: string;
  /** Why it did not succeed, in words (the runtime's verdict reason). */
  readonly why?: string;
}

export interface TimelineTool {
  readonly name: string;
  readonly status: string;
  readonly kind: string;
  readonly durationMs: number;
}

export interface TimelineStep {
  readonly step: number;
  /** From the attempt's start. */
  readonly offsetMs: number;
  /** The model turn and the tools that followed it. */
  readonly durationMs: number;
  /** The model calls alone, retries and their waits included. */
  readonly modelMs: number;
  /** The part of modelMs spent on attempts that failed or were skipped, and on backoff. */
  readonly retryMs: number;
  readonly provider: string;
  readonly model: string;
  readonly stopReason: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  /** Model attempts that failed or were skipped before one answered. */
  readonly fallbacks: number;
  readonly tools: readonly TimelineTool[];
  readonly validationFailures: readonly string[];
}

export interface Timeline {
  readonly run: RunRow;
  readonly steps: readonly TimelineStep[];
}

export interface Summary {
  /** First and last day with runs, or null without any. */
  readonly range: { readonly from: string; readonly to: string } | null;
  readonly totals: Totals;
  readonly agents: readonly GroupTotals[];
  readonly cohorts: readonly GroupTotals[];
  /** Every day with runs, in order. */
  readonly days: readonly string[];
  readonly dailyByAgent: readonly DailyRow[];
  readonly dailyByCohort: readonly DailyRow[];
  /** Most frequent first. */
  readonly failures: readonly FailureReason[];
  /** The slowest attempts, slowest first. */
  readonly slowest: readonly RunRow[];
  /** The step timelines of the slowest attempts, then of the other failed ones, newest first. */
  readonly timelines: readonly Timeline[];
}

export const SLOWEST_RUNS = 10;
/** Timelines drawn at most: a bad day's hundreds of failures would make the page unreadable. */
export const TIMELINE_LIMIT = 25;

/** The run's verdict: written since schema version 2, derived as the runtime does for older records. */
export function outcomeOf(run: StoredRun): Outcome {
  if (run.outcome) return run.outcome;
  return verdictOf(run).outcome;
}

function verdictOf(run: StoredRun): RunVerdict {
  if (run.stopReason === 'runtime_error') return { outcome: 'failed', status: 422, reason: `the runtime failed${run.error ? `: ${run.error}` : ''}` };
  // The record does not say whether the agent had an output contract; a validation report says it had.
  return runVerdict({ stopReason: run.stopReason, validation: run.validation, error: run.error }, run.validation !== undefined);
}

const problemsOf = (r: { validationFailures?: readonly string[] | undefined; validation?: StoredRun['validation'] }): string[] =>
  r.validationFailures ? [...r.validationFailures] : r.validation && !r.validation.ok ? r.validation.problems.map((p) => `${p.kind}:${p.path}`) : [];

/** What ended an attempt that did not succeed: its stop reason, unless it ended normally and its answer failed validation. */
function reasonsOf(run: StoredRun): Omit<FailureReason, 'count'>[] {
  if (outcomeOf(run) === 'succeeded') return [];
  const problems = [...new Set(problemsOf(run))].map((reason) => ({ reason, kind: 'validation' as const }));
  const stop = run.stopReason === 'end_turn' && problems.length ? [] : [{ reason: run.stopReason, kind: 'stop' as const }];
  return [...stop, ...problems];
}

export function totalsOf(runs: readonly StoredRun[]): Totals {
  const count = (outcome: Outcome) => runs.filter((r) => outcomeOf(r) === outcome).length;
  const succeeded = count('succeeded');
  const costUsd = sum(runs, (r) => r.costUsd);
  return {
    runs: runs.length,
    distinctRuns: new Set(runs.map((r) => `${r.agent}\u0000${r.runId}`)).size,
    succeeded,
    failed: count('failed'),
    retryable: count('retryable'),
    costUsd,
    inputTokens: sum(runs, (r) => r.usage.inputTokens),
    outputTokens: sum(runs, (r) => r.usage.outputTokens),
    costPerSuccessUsd: succeeded ? costUsd / succeeded : null,
  };
}

const sum = <T>(items: readonly T[], of: (item: T) => number | undefined) => items.reduce((n, item) => n + (of(item) ?? 0), 0);

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

/** Each group's totals, the costliest first. */
const groupTotals = (runs: readonly StoredRun[], key: (r: StoredRun) => string): GroupTotals[] =>
  [...groupBy(runs, key)].map(([name, group]) => ({ name, ...totalsOf(group) })).sort((a, b) => b.costUsd - a.costUsd || a.name.localeCompare(b.name));

const dailyRows = (runs: readonly StoredRun[], key: (r: StoredRun) => string): DailyRow[] =>
  [...groupBy(runs, (r) => `${dayOf(r.startedAt)}\u0000${key(r)}`).values()]
    .map((group) => ({
      day: dayOf(group[0]!.startedAt),
      group: key(group[0]!),
      runs: group.length,
      costUsd: sum(group, (r) => r.costUsd),
      inputTokens: sum(group, (r) => r.usage.inputTokens),
      outputTokens: sum(group, (r) => r.usage.outputTokens),
    }))
    .sort((a, b) => a.day.localeCompare(b.day) || a.group.localeCompare(b.group));

function failureReasons(runs: readonly StoredRun[]): FailureReason[] {
  const counts = new Map<string, FailureReason>();
  for (const { reason, kind } of runs.flatMap(reasonsOf)) {
    const key = `${kind}\u0000${reason}`;
    counts.set(key, { reason, kind, count: (counts.get(key)?.count ?? 0) + 1 });
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

function runRow(run: StoredRun, steps: readonly StoredStep[]): RunRow {
  const outcome = outcomeOf(run);
  const last = steps.at(-1);
  const answeredBy = run.provider ? `${run.provider}/${run.model}` : last ? `${last.provider}/${last.model}` : undefined;
  const why = outcome === 'succeeded' ? undefined : verdictOf(run).reason;
  return {
    agent: run.agent,
    cohort: run.cohort,
    runId: run.runId,
    attempt: run.attempt,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    steps: run.steps,
    outcome,
    stopReason: run.stopReason,
    costUsd: run.costUsd,
    inputTokens: run.usage.inputTokens,
    outputTokens: run.usage.outputTokens,
    ...(answeredBy && { answeredBy }),
    ...(why && { why }),
  };
}

function timelineStep(step: StoredStep, runStart: number): TimelineStep {
  const modelMs = Math.min(step.durationMs, step.attempts.reduce((n, a) => n + a.durationMs + (a.waitedMs ?? 0), 0) || step.durationMs);
  const retryMs = step.attempts.reduce((n, a) => n + (a.waitedMs ?? 0) + (a.outcome === 'ok' ? 0 : a.durationMs), 0);
  return {
    step: step.step,
    offsetMs: Math.max(0, Date.parse(step.startedAt) - runStart),
    durationMs: step.durationMs,
    modelMs,
    retryMs: Math.min(modelMs, retryMs),
    provider: step.provider,
    model: step.model,
    stopReason: step.stopReason,
    inputTokens: step.usage.inputTokens,
    outputTokens: step.usage.outputTokens,
    costUsd: step.costUsd ?? 0,
    fallbacks: step.fallbacks ?? step.attempts.filter((a) => a.outcome !== 'ok').length,
    tools: step.toolCalls.map((c) => ({ name: c.name, status: c.status, kind: c.kind, durationMs: Math.round(c.durationMs) })),
    validationFailures: problemsOf(step),
  };
}

/** The figures of the report: totals, per agent, cohort and day, failure reasons, the slowest runs and their steps. */
export function summarize(records: readonly StoredRecord[]): Summary {
  const runs = records.filter((r): r is StoredRun => r.type === 'run').sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const stepsOf = groupBy(
    records.filter((r): r is StoredStep => r.type === 'step').sort((a, b) => a.step - b.step),
    attemptKey,
  );
  const steps = (run: StoredRun) => stepsOf.get(attemptKey(run)) ?? [];
  const days = [...new Set(runs.map((r) => dayOf(r.startedAt)))].sort();
  const slowest = [...runs].sort((a, b) => b.durationMs - a.durationMs).slice(0, SLOWEST_RUNS);
  const failed = runs.filter((r) => outcomeOf(r) !== 'succeeded' && !slowest.includes(r)).reverse();
  return {
    range: days.length ? { from: days[0]!, to: days.at(-1)! } : null,
    totals: totalsOf(runs),
    agents: groupTotals(runs, (r) => r.agent),
    cohorts: groupTotals(runs, (r) => r.cohort),
    days,
    dailyByAgent: dailyRows(runs, (r) => r.agent),
    dailyByCohort: dailyRows(runs, (r) => r.cohort),
    failures: failureReasons(runs),
    slowest: slowest.map((r) => runRow(r, steps(r))),
    timelines: [...slowest, ...failed].slice(0, TIMELINE_LIMIT).map((r) => ({ run: runRow(r, steps(r)), steps: steps(r).map((s) => timelineStep(s, Date.parse(r.startedAt))) })),
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/** Dollars to four places: a single model turn costs fractions of a cent. */
export const formatUsd = (n: number): string => `$${n.toLocaleString('en-US', { minimumFractionDigits: 4, maximumFractionDigits: 4 })}`;
export const formatCount = (n: number): string => n.toLocaleString('en-US');
export const formatMs = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);
const formatPercent = (part: number, whole: number) => (whole ? `${((100 * part) / whole).toFixed(1)}%` : '–');

/** The totals as one line, for the terminal. */
export function totalsLine(t: Totals): string {
  const perSuccess = t.costPerSuccessUsd === null ? 'no successful run' : `${formatUsd(t.costPerSuccessUsd)} per successful run`;
  return `${formatCount(t.runs)} runs (${formatCount(t.distinctRuns)} distinct): ${formatCount(t.succeeded)} succeeded, ${formatCount(t.failed)} failed, ${formatCount(t.retryable)} retryable; ${formatUsd(t.costUsd)}, ${perSuccess}; ${formatCount(t.inputTokens)} input and ${formatCount(t.outputTokens)} output tokens`;
}

/** Text for HTML, in content and in quoted attributes: agent names, messages and ids come from records. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` escaped so no value can
 * close the element (`</script>`) or open a comment, and the line separators JavaScript once rejected.
 */
export const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

export interface RenderOptions {
  readonly title: string;
  readonly generatedAt: Date;
  /** What the records were filtered by, shown under the title. */
  readonly filter?: RecordFilter;
}

/** Chart.js's browser build, read once; the package exports no path to it, so it is found beside its main file. */
let chartJs: string | undefined;
function chartLibrary(): string {
  chartJs ??= readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  return chartJs;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The report as one HTML page with nothing to fetch: styles, data, Chart.js and the page's script
 * inline. Its Content Security Policy admits only these two scripts (by hash) and no connection
 * at all, so even a value that slipped past escaping could neither run nor call out.
 */
export function renderReport(summary: Summary, options: RenderOptions): string {
  const scripts = [chartLibrary(), PAGE_SCRIPT];
  const csp = `default-src 'none'; script-src ${scripts.map(sha256).join(' ')}; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${escapeHtml(options.title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<main>
${header(summary, options)}
${totalsCards(summary.totals)}
${summary.totals.runs ? body(summary) : '<section class="card empty">No runs in these records.</section>'}
</main>
<script type="application/json" id="report-data">${scriptJson(chartData(summary))}</script>
${scripts.map((s) => `<script>${s}</script>`).join('\n')}
</body>
</html>
`;
}

function header(summary: Summary, options: RenderOptions): string {
  const { filter } = options;
  const range = summary.range ? (summary.range.from === summary.range.to ? summary.range.from : `${summary.range.from} to ${summary.range.to}`) : 'no runs';
  const filters = [filter?.agent && `agent ${filter.agent}`, filter?.from && `from ${filter.from}`, filter?.to && `to ${filter.to}`].filter(Boolean) as string[];
  const facts = [
    `Runs from <span data-range>${escapeHtml(range)}</span> (UTC)`,
    `${summary.agents.length} agent${summary.agents.length === 1 ? '' : 's'}, ${summary.cohorts.length} cohort${summary.cohorts.length === 1 ? '' : 's'}`,
    ...(filters.length ? [`filtered: ${escapeHtml(filters.join(', '))}`] : []),
    `generated <time datetime="${options.generatedAt.toISOString()}">${options.generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`,
  ];
  return `<header><h1>${escapeHtml(options.title)}</h1><p class="muted">${facts.join(' · ')}</p></header>`;
}

function card(label: string, key: string, text: string, raw: number | null, note = ''): string {
  return `<div class="stat"><div class="label">${label}</div><div class="value" data-total="${key}" data-value="${raw ?? ''}">${escapeHtml(text)}</div>${note ? `<div class="note">${note}</div>` : ''}</div>`;
}

function totalsCards(t: Totals): string {
  return `<section class="stats" aria-label="Totals">
${card('Runs', 'runs', formatCount(t.runs), t.runs, `<span data-total="distinct-runs" data-value="${t.distinctRuns}">${formatCount(t.distinctRuns)}</span> distinct; each retry counts`)}
${card('Succeeded', 'succeeded', formatCount(t.succeeded), t.succeeded, `${formatPercent(t.succeeded, t.runs)} of runs`)}
${card('Failed', 'failed', formatCount(t.failed), t.failed, 'another try would fail again')}
${card('Retryable', 'retryable', formatCount(t.retryable), t.retryable, 'no model or out of time')}
${card('Cost', 'cost', formatUsd(t.costUsd), t.costUsd, 'at the router’s prices')}
${card('Cost per successful run', 'cost-per-success', t.costPerSuccessUsd === null ? '–' : formatUsd(t.costPerSuccessUsd), t.costPerSuccessUsd, 'failed attempts included')}
${card('Input tokens', 'input-tokens', formatCount(t.inputTokens), t.inputTokens)}
${card('Output tokens', 'output-tokens', formatCount(t.outputTokens), t.outputTokens)}
</section>`;
}

function chartCard(id: string, title: string, caption: string, height = 280, legend = ''): string {
  return `<figure class="card chart"><figcaption><h2>${title}</h2><p class="muted">${caption}</p>${legend}</figcaption><div class="canvas-box" style="height:${height}px"><canvas id="${id}" role="img" aria-label="${title}"></canvas></div></figure>`;
}

function body(summary: Summary): string {
  const failures = summary.failures.length
    ? chartCard('chart-failures', 'Failure reasons', 'Runs that did not succeed, by what ended them', Math.max(180, 34 * summary.failures.length + 60), swatches([['stop', 'stop reason'], ['validation', 'validation problem (kind:path)']]))
    : '<figure class="card chart"><figcaption><h2>Failure reasons</h2></figcaption><p class="empty">Every run succeeded.</p></figure>';
  return `<section class="charts">
${chartCard('chart-runs-per-day', 'Runs per day, by agent', 'Attempts started each day (UTC)')}
${chartCard('chart-cost-per-day', 'Cost per day, by cohort', 'USD at the router’s prices')}
${chartCard('chart-tokens-per-agent', 'Tokens by agent', 'Input and output tokens over the period', Math.max(200, 44 * summary.agents.length + 80))}
${failures}
</section>
<section class="card"><h2>By agent</h2>${groupTable(summary.agents, 'Agent')}</section>
<section class="card"><h2>By cohort</h2>${groupTable(summary.cohorts, 'Cohort')}</section>
<section class="card"><h2>Slowest runs</h2>${runTable(summary.slowest, summary.timelines)}</section>
<section class="card" id="timelines"><h2>Step timelines</h2><p class="muted">The slowest runs, then the other runs that did not succeed. Each row is a model turn (dark) and the tools it called (below it), from the run’s start.</p>
${legend()}
${summary.timelines.map(timeline).join('\n')}
</section>`;
}

function groupTable(groups: readonly GroupTotals[], label: string): string {
  const rows = groups.map(
    (g) =>
      `<tr data-group="${escapeHtml(g.name)}"><th scope="row">${escapeHtml(g.name)}</th><td>${formatCount(g.runs)}</td><td>${formatCount(g.distinctRuns)}</td><td>${formatCount(g.succeeded)}</td><td>${formatCount(g.failed)}</td><td>${formatCount(g.retryable)}</td><td>${formatPercent(g.succeeded, g.runs)}</td><td>${formatUsd(g.costUsd)}</td><td>${g.costPerSuccessUsd === null ? '–' : formatUsd(g.costPerSuccessUsd)}</td><td>${formatCount(g.inputTokens)}</td><td>${formatCount(g.outputTokens)}</td></tr>`,
  );
  return `<div class="table-wrap"><table><thead><tr><th scope="col">${label}</th><th>Runs</th><th>Distinct</th><th>Succeeded</th><th>Failed</th><th>Retryable</th><th>Success</th><th>Cost</th><th>Per success</th><th>Input tokens</th><th>Output tokens</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

const badge = (outcome: Outcome) => `<span class="badge ${outcome}">${outcome}</span>`;

function runTable(runs: readonly RunRow[], timelines: readonly Timeline[]): string {
  const rows = runs.map((r) => {
    const at = timelines.findIndex((t) => t.run.runId === r.runId && t.run.attempt === r.attempt && t.run.agent === r.agent);
    const id = at >= 0 ? `<a href="#timeline-${at}"><code>${escapeHtml(r.runId)}</code></a>` : `<code>${escapeHtml(r.runId)}</code>`;
    return `<tr><td>${escapeHtml(r.startedAt.slice(0, 19).replace('T', ' '))}</td><th scope="row">${escapeHtml(r.agent)}</th><td class="text">${escapeHtml(r.cohort)}</td><td class="text">${id}</td><td>${formatMs(r.durationMs)}</td><td>${r.steps}</td><td class="text">${badge(r.outcome)}</td><td class="text">${escapeHtml(r.stopReason)}</td><td>${formatUsd(r.costUsd)}</td><td>${formatCount(r.inputTokens)} / ${formatCount(r.outputTokens)}</td></tr>`;
  });
  return `<div class="table-wrap"><table class="runs"><thead><tr><th>Started (UTC)</th><th scope="col" class="text">Agent</th><th class="text">Cohort</th><th class="text">Run</th><th>Duration</th><th>Steps</th><th class="text">Outcome</th><th class="text">Stop reason</th><th>Cost</th><th>Tokens in / out</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

const swatches = (items: readonly (readonly [string, string])[]) => `<p class="legend">${items.map(([cls, text]) => `<span><i class="swatch ${cls}"></i>${text}</span>`).join('')}</p>`;

const legend = () =>
  swatches([
    ['model', 'model turn'],
    ['retry', 'failed model attempts, backoff'],
    ['step', 'rest of the step'],
    ['ok', 'tool ok'],
    ['error', 'tool failed'],
    ['denied', 'tool refused'],
  ]);

/** A bar's place on the run's track, in percent; never narrower than a hairline so short calls stay visible. */
const place = (start: number, length: number, total: number) => `left:${((100 * start) / total).toFixed(2)}%;width:max(3px,${((100 * length) / total).toFixed(2)}%)`;

function timeline(t: Timeline, index: number): string {
  const { run } = t;
  const total = Math.max(1, run.durationMs, ...t.steps.map((s) => s.offsetMs + s.durationMs));
  const rows = t.steps.map((s) => timelineRow(s, total)).join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<span style="left:${f * 100}%">${f ? formatMs(f * total) : '0'}</span>`).join('');
  return `<article class="timeline" id="timeline-${index}" data-run="${escapeHtml(run.runId)}">
<header><strong>${escapeHtml(run.agent)}</strong><code>${escapeHtml(run.runId)}</code>${badge(run.outcome)}<span class="muted">${escapeHtml(run.stopReason)} · ${formatMs(run.durationMs)} · ${run.steps} step${run.steps === 1 ? '' : 's'} · ${formatUsd(run.costUsd)}${run.answeredBy ? ` · ${escapeHtml(run.answeredBy)}` : ''} · started ${escapeHtml(run.startedAt.slice(0, 19).replace('T', ' '))}</span></header>
${run.why ? `<p class="why">${escapeHtml(run.why)}</p>` : ''}
${rows || '<p class="empty">No step records for this attempt.</p>'}
${rows ? `<div class="tl-row"><div></div><div class="tl-axis">${ticks}</div></div>` : ''}
</article>`;
}

function timelineRow(s: TimelineStep, total: number): string {
  const toolStart = s.offsetMs + s.modelMs;
  const tools = s.tools
    .map((c, i) => `<div class="bar tool ${toolClass(c.status)}" style="${place(toolStart, c.durationMs, total)};top:${24 + i * 11}px" title="${escapeHtml(`${c.name}: ${c.status}, ${formatMs(c.durationMs)}`)}"></div>`)
    .join('');
  const chips = s.tools.map((c) => `<span class="chip ${toolClass(c.status)}">${escapeHtml(c.name)} · ${escapeHtml(c.status)} · ${formatMs(c.durationMs)}</span>`).join('');
  const notes = [s.fallbacks ? `<span class="chip warn">${s.fallbacks} failed model attempt${s.fallbacks === 1 ? '' : 's'}</span>` : '', ...s.validationFailures.map((v) => `<span class="chip error">${escapeHtml(v)}</span>`)].join('');
  const title = `step ${s.step}: ${s.provider}/${s.model}, ${s.stopReason}, ${formatMs(s.durationMs)}`;
  return `<div class="tl-row">
<div class="tl-label"><b>#${s.step}</b> ${escapeHtml(`${s.provider}/${s.model}`)}<div class="muted small">${escapeHtml(s.stopReason)} · ${formatMs(s.durationMs)} · ${formatCount(s.inputTokens)} in / ${formatCount(s.outputTokens)} out · ${formatUsd(s.costUsd)}</div>${chips || notes ? `<div class="chips">${chips}${notes}</div>` : ''}</div>
<div class="tl-track" style="height:${30 + Math.max(0, s.tools.length) * 11}px"><div class="bar step" style="${place(s.offsetMs, s.durationMs, total)}" title="${escapeHtml(title)}"></div>${s.retryMs ? `<div class="bar retry" style="${place(s.offsetMs, s.retryMs, total)}" title="${escapeHtml(`${s.fallbacks} failed model attempt(s) and backoff: ${formatMs(s.retryMs)}`)}"></div>` : ''}<div class="bar model" style="${place(s.offsetMs + s.retryMs, s.modelMs - s.retryMs, total)}" title="${escapeHtml(title)}"></div>${tools}</div>
</div>`;
}

const toolClass = (status: string) => (status === 'ok' ? 'ok' : status === 'denied' || status === 'rejected' ? 'denied' : 'error');

/** What the page's script draws from: only the figures the charts need. */
function chartData(summary: Summary) {
  return {
    days: summary.days,
    agents: summary.agents.map((a) => ({ name: a.name, inputTokens: a.inputTokens, outputTokens: a.outputTokens })),
    cohorts: summary.cohorts.map((c) => c.name),
    dailyByAgent: summary.dailyByAgent,
    dailyByCohort: summary.dailyByCohort,
    failures: summary.failures,
  };
}

// ---------------------------------------------------------------------------------------------
// The page's own style and script (static text: the data comes from the JSON element)
// ---------------------------------------------------------------------------------------------

const PAGE_CSS = `
:root { --bg:#f5f6f8; --card:#fff; --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --accent:#3b6ea5; --ok:#2f855a; --bad:#c53030; --warn:#b7791f; }
* { box-sizing:border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1240px; margin:0 auto; padding:32px 24px 48px; }
header h1 { margin:0 0 4px; font-size:26px; font-weight:650; letter-spacing:-.01em; }
h2 { margin:0 0 4px; font-size:16px; font-weight:620; }
.muted { color:var(--muted); margin:0; }
.small { font-size:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 20px; margin:16px 0 0; box-shadow:0 1px 2px rgba(15,23,42,.04); }
.stats { display:grid; grid-template-columns:repeat(4,1fr); gap:12px; margin-top:20px; }
.stat { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:14px 16px; }
.stat .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.stat .value { font-size:24px; font-weight:650; font-variant-numeric:tabular-nums; margin-top:2px; }
.stat .note { color:var(--muted); font-size:12px; }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(480px,1fr)); gap:16px; margin-top:16px; }
.charts .card { margin:0; }
figure.chart { margin:0; }
figcaption { margin-bottom:10px; }
.canvas-box { position:relative; }
.table-wrap { overflow-x:auto; margin-top:8px; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { padding:7px 10px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
thead th { color:var(--muted); font-weight:560; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
th:first-child, td:first-child, tbody th, .text { text-align:left; }
tbody tr:nth-child(even) { background:#fafbfc; }
tbody th { font-weight:560; }
code { font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; background:#f1f3f5; padding:1px 5px; border-radius:4px; }
a { color:var(--accent); text-decoration:none; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:560; }
.badge.succeeded { background:#e6f4ea; color:var(--ok); }
.badge.failed { background:#fdecec; color:var(--bad); }
.badge.retryable { background:#fdf3e1; color:var(--warn); }
.empty { color:var(--muted); font-style:italic; }
.legend { display:flex; gap:16px; flex-wrap:wrap; color:var(--muted); font-size:12px; margin:10px 0 4px; }
.legend span { display:inline-flex; align-items:center; gap:6px; }
.swatch { display:inline-block; width:14px; height:10px; border-radius:3px; }
.swatch.stop { background:#d1735a; }
.swatch.validation { background:#e0a458; }
.timeline { border-top:1px solid var(--line); padding:14px 0 6px; }
.timeline > header { display:flex; gap:10px; align-items:center; flex-wrap:wrap; }
.why { margin:6px 0 0; color:var(--bad); font-size:13px; }
.tl-row { display:grid; grid-template-columns:300px 1fr; gap:14px; align-items:start; margin-top:8px; }
.tl-label { font-size:13px; overflow-wrap:anywhere; }
.tl-track { position:relative; background:repeating-linear-gradient(90deg,transparent 0,transparent calc(25% - 1px),var(--line) calc(25% - 1px),var(--line) 25%); border-left:1px solid var(--line); border-radius:4px; }
.bar { position:absolute; border-radius:3px; }
.bar.step, .swatch.step { background:#dbe5f1; }
.bar.step { top:4px; height:16px; }
.bar.model, .swatch.model { background:var(--accent); }
.bar.model { top:4px; height:16px; }
.bar.retry, .swatch.retry { background:repeating-linear-gradient(135deg,#e0a458 0,#e0a458 4px,#f3d3a4 4px,#f3d3a4 8px); }
.bar.retry { top:4px; height:16px; }
.bar.tool { height:8px; }
.ok { background:#cfe9d8; }
.bar.ok, .swatch.ok { background:#48a36b; }
.error { background:#f8d7d7; }
.bar.error, .swatch.error { background:#d9534f; }
.denied { background:#e5e7eb; }
.bar.denied, .swatch.denied { background:#9ca3af; }
.warn { background:#fbe7c6; }
.chips { display:flex; flex-wrap:wrap; gap:4px; margin-top:4px; }
.chip { font-size:11px; padding:1px 7px; border-radius:999px; color:#1f2937; }
.tl-axis { position:relative; height:18px; font-size:11px; color:var(--muted); }
.tl-axis span { position:absolute; transform:translateX(-50%); white-space:nowrap; }
.tl-axis span:first-child { transform:none; }
.tl-axis span:last-child { transform:translateX(-100%); }
@media (max-width:720px) { .tl-row { grid-template-columns:1fr; } .charts, .stats { grid-template-columns:1fr 1fr; } }
@media print { body { background:#fff; } .card, .stat { box-shadow:none; break-inside:avoid; } }
`;

/**
 * Draws the charts from the JSON element. Plain browser JavaScript kept as text: a compiled
 * function's source would carry the bundler's helpers. Labels reach the canvas only, never HTML.
 */
const PAGE_SCRIPT = `(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var PALETTE = ['#3b6ea5', '#6aaa64', '#e0a458', '#b5648f', '#4fa3a5', '#8c7aa9', '#d1735a', '#7f8c8d', '#c9b34f', '#5b8bd9'];
  var color = function (i) { return PALETTE[i % PALETTE.length]; };
  var usd = function (n) { return '$' + n.toLocaleString('en-US', { minimumFractionDigits: 4, maximumFractionDigits: 4 }); };
  var count = function (n) { return n.toLocaleString('en-US'); };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#6b7280';
  Chart.defaults.borderColor = '#eef0f3';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.position = 'bottom';
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  function perDay(rows, group, field) {
    return data.days.map(function (day) {
      var row = rows.find(function (r) { return r.day === day && r.group === group; });
      return row ? row[field] : 0;
    });
  }
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }

  draw('chart-runs-per-day', {
    type: 'bar',
    data: { labels: data.days, datasets: data.agents.map(function (a, i) { return { label: a.name, data: perDay(data.dailyByAgent, a.name, 'runs'), backgroundColor: color(i), borderRadius: 3 }; }) },
    options: { scales: { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
  });

  draw('chart-cost-per-day', {
    type: 'bar',
    data: { labels: data.days, datasets: data.cohorts.map(function (c, i) { return { label: c, data: perDay(data.dailyByCohort, c, 'costUsd'), backgroundColor: color(i + 3), borderRadius: 3 }; }) },
    options: {
      scales: { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true, ticks: { callback: function (v) { return '$' + Number(v).toFixed(3); } } } },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + usd(c.parsed.y); } } } }
    }
  });

  draw('chart-tokens-per-agent', {
    type: 'bar',
    data: {
      labels: data.agents.map(function (a) { return a.name; }),
      datasets: [
        { label: 'Input tokens', data: data.agents.map(function (a) { return a.inputTokens; }), backgroundColor: '#3b6ea5', borderRadius: 3 },
        { label: 'Output tokens', data: data.agents.map(function (a) { return a.outputTokens; }), backgroundColor: '#9cc3e6', borderRadius: 3 }
      ]
    },
    options: {
      indexAxis: 'y',
      scales: { x: { stacked: true, beginAtZero: true, ticks: { callback: function (v) { return count(Number(v)); } } }, y: { stacked: true, grid: { display: false } } },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + count(c.parsed.x); } } } }
    }
  });

  draw('chart-failures', {
    type: 'bar',
    data: {
      labels: data.failures.map(function (f) { return f.reason; }),
      datasets: [{
        label: 'Runs',
        data: data.failures.map(function (f) { return f.count; }),
        backgroundColor: data.failures.map(function (f) { return f.kind === 'validation' ? '#e0a458' : '#d1735a'; }),
        borderRadius: 3
      }]
    },
    options: {
      indexAxis: 'y',
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: function (c) { var f = data.failures[c.dataIndex]; return (f.kind === 'validation' ? 'validation problem' : 'stop reason') + ': ' + c.parsed.x + ' run(s)'; } } }
      }
    }
  });
})();`;
