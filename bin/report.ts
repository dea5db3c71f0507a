#!/usr/bin/env node
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { filterRecords, readAuditFolder, renderReport, summarize, totalsLine, type RecordFilter } from '../functions/report/report';

export const USAGE = `usage: npm run report -- <folder> [--out report.html] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--agent NAME]

Writes an HTML report (runs, outcomes, cost, tokens, failure reasons, the slowest runs and their
steps) from a local copy of the audit store: the agent=NAME/date=YYYY-MM-DD/RUN_ID/ATTEMPT.jsonl
objects the runtime writes. Copy them down first, for example:

  aws s3 sync s3://AUDIT_BUCKET/ ./audit --exclude "*/chain=*"
  az storage blob download-batch --account-name ACCOUNT --source AUDIT_CONTAINER --destination ./audit

  --out     where to write the page (default: report.html)
  --from    first day kept, UTC, inclusive
  --to      last day kept, UTC, inclusive
  --agent   only this agent's runs`;

/** A mistake in what the operator asked for: reported with the usage, not a stack trace. */
class UsageError extends Error {}

interface Options {
  readonly folder: string;
  readonly out: string;
  readonly filter: RecordFilter;
}

/**
 * Paths as the operator typed them: npm runs scripts from the package root, and says in INIT_CWD
 * where it was started.
 */
const fromCaller = (path: string) => resolve(process.env.INIT_CWD ?? process.cwd(), path);

function validDay(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
  if (!ok) throw new UsageError(`${flag} must be a day as YYYY-MM-DD, not "${value}"`);
  return value;
}

function parseOptions(argv: readonly string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { out: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, agent: { type: 'string' } } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `one folder, not ${positionals.length}: ${positionals.join(' ')}` : 'which folder of audit records?');
  const from = validDay(values.from, '--from');
  const to = validDay(values.to, '--to');
  if (from && to && from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  return {
    folder: fromCaller(positionals[0]!),
    out: fromCaller(values.out ?? 'report.html'),
    filter: { ...(from && { from }), ...(to && { to }), ...(values.agent && { agent: values.agent }) },
  };
}

const describe = (filter: RecordFilter) => [filter.agent && `agent ${filter.agent}`, filter.from && `from ${filter.from}`, filter.to && `to ${filter.to}`].filter(Boolean).join(', ');

/** Reads, sums up and writes the report; the exit code: 0 when written, 1 with the reason on stderr. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  try {
    const { folder, out, filter } = parseOptions(argv);
    const all = await readAuditFolder(folder);
    if (!all.length) throw new Error(`no audit records under ${folder} (looked for *.jsonl outside chain= folders)`);
    const records = filterRecords(all, filter);
    const summary = summarize(records);
    if (!summary.totals.runs) throw new Error(`no runs in ${folder}${describe(filter) ? ` for ${describe(filter)}` : ''} (${all.length} records in all)`);
    const title = filter.agent ? `Agent runs: ${filter.agent}` : 'Agent runs';
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, renderReport(summary, { title, generatedAt: new Date(), filter }));
    console.log(`wrote ${out}`);
    console.log(totalsLine(summary.totals));
    return 0;
  } catch (e) {
    console.error(`report: ${(e as Error).message}`);
    if (e instanceof UsageError) console.error(`\n${USAGE}`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
