import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { main as report } from '../../bin/report';
import { auditKey } from '../../contract/audit/layout';
import { AUDIT_QUERIES } from '../../contract/audit/queries';
import type { AuditRecord, RunRecord } from '../../functions/core/audit/records';
import { LocalAuditQueries } from '../../functions/audit-query/local';
import { writeAuditCorpus } from '../../test/__fixtures__/audit-corpus';
import { machine, writeSection } from '../report';

/**
 * `npm run bench:audit`: what the operator's tools cost over a month of audit objects. The records
 * are the runtime's own (the corpus its end-to-end test writes through the S3 sink: a chain of
 * agents, answers valid and not, a denied tool, a fallback), copied under new run ids to 50 agents
 * in 5 cohorts over 30 days, one object per attempt as the sinks write them. Measured: `npm run
 * report` end to end; each named query in DuckDB over the folder; and, as the baseline, a
 * hand-written scan (read every object, parse every line, sum cost by agent, cohort and day) that
 * must give the same sums as the `cost-by-agent-cohort-day` query.
 */
const SIZES = (process.env.BENCH_AUDIT_RUNS ?? '2000,20000').split(',').map(Number);
const AGENTS = 50;
const COHORTS = 5;
const DAYS = 30;

/** The template runs: each run record with its steps, as the runtime wrote them. */
async function templates(): Promise<AuditRecord[][]> {
  const corpus = await writeAuditCorpus();
  await rm(corpus.folder, { recursive: true, force: true });
  const byAttempt = new Map<string, AuditRecord[]>();
  for (const record of corpus.records) byAttempt.set(record.attempt, [...(byAttempt.get(record.attempt) ?? []), record]);
  return [...byAttempt.values()];
}

/** `runs` attempts copied from the templates into a new folder, in the audit layout. */
async function writeFolder(runs: number, from: AuditRecord[][]): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'bench-audit-'));
  for (let i = 0; i < runs; i++) {
    const agent = `agent-${String(i % AGENTS).padStart(2, '0')}`;
    const cohort = `cohort-${i % COHORTS}`;
    const day = new Date(Date.UTC(2026, 10, 1 + (i % DAYS), 8, 0, i % 60));
    const attempt = `${day.toISOString().replace(/[-:.]/g, '')}-${i.toString(16).padStart(6, '0')}`;
    const runId = `run-${i}`;
    const records = from[i % from.length]!.map((r) => ({ ...r, runId, attempt, agent, startedAt: day.toISOString(), ...(r.type === 'run' && { cohort, correlationId: runId, costUsd: r.costUsd * (1 + (i % 7)) }) }));
    const key = auditKey(agent, day.toISOString().slice(0, 10), runId, attempt);
    await mkdir(dirname(join(folder, key)), { recursive: true });
    await writeFile(join(folder, key), `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
  }
  return folder;
}

/** The baseline: every object read and parsed by hand, cost summed by agent, cohort and day. */
async function scanByHand(folder: string): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  const files = (await readdir(folder, { recursive: true })).filter((f) => f.endsWith('.jsonl'));
  for (const file of files) {
    for (const line of (await readFile(join(folder, file), 'utf8')).split('\n')) {
      if (!line) continue;
      const record = JSON.parse(line) as RunRecord;
      if (record.type !== 'run') continue;
      const key = `${record.startedAt.slice(0, 10)} ${record.agent} ${record.cohort}`;
      sums.set(key, (sums.get(key) ?? 0) + record.costUsd);
    }
  }
  return sums;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

async function measure(runs: number, from: AuditRecord[][]) {
  const folder = await writeFolder(runs, from);
  try {
    const records = runs * (from.reduce((n, t) => n + t.length, 0) / from.length);
    const baseline = await timed(() => scanByHand(folder));
    const open = await timed(() => LocalAuditQueries.open(folder));
    const days = ['2026-11-01', '2026-11-30'];
    const queries: Record<string, number> = {};
    let rows: Record<string, unknown>[] = [];
    for (const query of AUDIT_QUERIES) {
      const parameters = query.parameters.length === 3 ? ['run-1', ...days] : days;
      const result = await timed(() => open.value.run(query, parameters));
      queries[query.name] = result.ms;
      if (query.name === 'cost-by-agent-cohort-day') rows = result.value;
    }
    open.value.close();
    // The comparison holds only if both give the same answer.
    const total = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0) * 1e6);
    if (rows.length !== baseline.value.size || total(rows.map((r) => Number(r.cost_usd))) !== total([...baseline.value.values()])) {
      throw new Error(`DuckDB and the hand scan disagree: ${rows.length} groups against ${baseline.value.size}`);
    }
    const out = join(folder, 'report.html');
    const log = console.log;
    console.log = () => {};
    const html = await timed(() => report([folder, '--out', out])).finally(() => (console.log = log));
    if (html.value !== 0) throw new Error('npm run report failed');
    const htmlKb = (await readFile(out)).length / 1024;
    return { runs, records, baselineMs: baseline.ms, openMs: open.ms, queries, reportMs: html.ms, htmlKb };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function run(): Promise<void> {
  const from = await templates();
  const results = [];
  for (const size of SIZES) results.push(await measure(size, from));
  const names = AUDIT_QUERIES.map((q) => q.name);
  const largest = results.at(-1)!;
  writeSection(
    'audit',
    `## Operator's tools over a month of audit objects (\`npm run bench:audit\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.

The runtime's own records (the end-to-end corpus: a chain of three agents, valid and invalid answers, a denied
tool, a model fallback, no model at all) copied under new run ids to ${AGENTS} agents in ${COHORTS} cohorts over
${DAYS} days, one object per attempt as the sinks write them. *Baseline*: a hand-written scan that reads every
object, parses every line and sums cost by agent, cohort and day; DuckDB's \`cost-by-agent-cohort-day\` must
give the same sums or the run fails. Each query over the whole month, in a DuckDB opened once (open: the view
over the folder).

| attempts | records | baseline scan | DuckDB open | ${names.map((n) => `\`${n}\``).join(' | ')} | \`npm run report\` | report page |
|---:|---:|---:|---:|${names.map(() => '---:').join('|')}|---:|---:|
${results.map((r) => `| ${r.runs} | ${Math.round(r.records)} | ${seconds(r.baselineMs)} | ${seconds(r.openMs)} | ${names.map((n) => seconds(r.queries[n]!)).join(' | ')} | ${seconds(r.reportMs)} | ${r.htmlKb.toFixed(0)} KB |`).join('\n')}

At ${largest.runs} attempts each named query takes ${seconds(Math.min(...Object.values(largest.queries)))} to ${seconds(Math.max(...Object.values(largest.queries)))}, against
the hand-written scan's ${seconds(largest.baselineMs)} for its one question (${(largest.baselineMs / largest.queries['cost-by-agent-cohort-day']!).toFixed(1)}x): DuckDB reads the objects on both cores and
keeps only the columns a query names. \`npm run report\` reads and parses every object once for all its charts, and its page
stays the same size (Chart.js is most of it; the timelines are capped). Offline figures, over a downloaded
copy; in Athena the same SQL reads only the partitions of its day range.`,
  );
  console.log(JSON.stringify(results, null, 1));
}

void run();
