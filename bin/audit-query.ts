#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AUDIT_QUERIES } from '../contract/audit/queries';
import { LocalAuditQueries } from '../functions/audit-query/local';

export const USAGE = `usage: npm run audit-query -- <query> <folder> [parameters...] [--json]
       npm run audit-query -- --list

Runs one of the named audit queries (the same SQL Athena saves in the operations workgroup) with
DuckDB over a local copy of the audit store, for example one made with
  aws s3 sync s3://AUDIT_BUCKET/ ./audit
Parameters are given in order; days are YYYY-MM-DD, inclusive.`;

/** Writes the query's rows (a table, or JSON lines with --json); returns the exit code. */
export async function main(argv: readonly string[], out: (line: string) => void = console.log): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: 'boolean' }, list: { type: 'boolean' } } });
  if (values.list) {
    for (const q of AUDIT_QUERIES) out(`${q.name}: ${q.question}\n  parameters: ${q.parameters.join('; ')}`);
    return 0;
  }
  const [name, folder, ...parameters] = positionals;
  const query = AUDIT_QUERIES.find((q) => q.name === name);
  const problem = !name || !folder ? 'which query, over which folder?' : !query ? `no query named "${name}": npm run audit-query -- --list` : !existsSync(folder) ? `no folder ${folder}` : parameters.length !== query.parameters.length ? `${name} takes ${query.parameters.length} parameters: ${query.parameters.join('; ')}` : undefined;
  if (problem) {
    console.error(`${problem}\n\n${USAGE}`);
    return 1;
  }
  const engine = await LocalAuditQueries.open(resolve(process.env.INIT_CWD ?? process.cwd(), folder!));
  try {
    const rows = await engine.run(query!, parameters);
    if (values.json) for (const row of rows) out(JSON.stringify(row));
    else if (rows.length) console.table(rows);
    else out('(no rows)');
    return 0;
  } finally {
    engine.close();
  }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => (process.exitCode = code));
