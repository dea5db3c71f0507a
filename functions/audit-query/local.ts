import type { DuckDBConnection } from '@duckdb/node-api';
import { AUDIT_COLUMNS, duckdbType } from '../../contract/audit/schema';
import { AUDIT_QUERIES, type AuditQuery } from '../../contract/audit/queries';

/** The view the named queries read, named as the Glue table is by default. */
export const LOCAL_AUDIT_TABLE = 'audit';

/**
 * The audit table over a folder of audit objects (the bucket or container downloaded, `aws s3
 * sync`, `az storage blob download-batch`), in DuckDB, with the columns the Glue table has: the
 * named queries run here as in Athena. The partitions come from each object's key, as Athena's
 * projection reads them; the chain index (`chain=` objects, `.json`) is left out, as there.
 */
export class LocalAuditQueries {
  static async open(folder: string): Promise<LocalAuditQueries> {
    // Loaded here: DuckDB is a development dependency, for operators' tools and tests only.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    const columns = Object.fromEntries(AUDIT_COLUMNS.map((c) => [c.field, duckdbType(c.type)]));
    const select = AUDIT_COLUMNS.map((c) => `"${c.field}" AS ${c.name}`).join(', ');
    const glob = `${folder.replace(/\/$/, '')}/agent=*/date=*/*/*.jsonl`;
    await connection.run(
      `CREATE VIEW ${LOCAL_AUDIT_TABLE} AS SELECT ${select},
        regexp_extract(filename, '/agent=([^/]+)/', 1) AS agent, regexp_extract(filename, '/date=([0-9-]+)/', 1) AS day
      FROM read_json(${sql(glob)}, format = 'newline_delimited', filename = true, columns = ${duckStruct(columns)})`,
    );
    return new LocalAuditQueries(connection);
  }

  private constructor(private readonly connection: DuckDBConnection) {}

  /** The rows `query` returns for `parameters` (`?` in order), as JSON values. */
  async run(query: AuditQuery | string, parameters: readonly string[]): Promise<Record<string, unknown>[]> {
    const named = typeof query === 'string' ? AUDIT_QUERIES.find((q) => q.name === query) : query;
    if (!named) throw new Error(`no audit query named "${query}" (${AUDIT_QUERIES.map((q) => q.name).join(', ')})`);
    if (parameters.length !== named.parameters.length) throw new Error(`query ${named.name} takes ${named.parameters.length} parameters (${named.parameters.join(', ')}), got ${parameters.length}`);
    const reader = await this.connection.runAndReadAll(named.sql(LOCAL_AUDIT_TABLE), [...parameters]);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  }

  close(): void {
    this.connection.closeSync();
  }
}

const sql = (text: string) => `'${text.replace(/'/g, "''")}'`;
const duckStruct = (fields: Record<string, string>) => `{${Object.entries(fields).map(([k, v]) => `${sql(k)}: ${sql(v)}`).join(', ')}}`;
