/**
 * Microsoft's Kusto.Language parser and semantic analyzer (`@kusto/language-service-next`, the
 * library behind Azure Data Explorer's and Log Analytics' editors, compiled to JavaScript), over a
 * database of the tables our KQL reads: an unknown table, column or function, or a type error,
 * is an error diagnostic here as it would be in Log Analytics.
 */
import type { LogAnalyticsColumn } from '../../contract/audit/log-analytics';

let kusto: any;
/** The library sets globals (`Bridge`, `Kusto`) as it loads: loaded once, on first use. */
function language(): any {
  if (!kusto) {
    require('@kusto/language-service-next/bridge.js');
    require('@kusto/language-service-next');
    kusto = (globalThis as any).Kusto.Language;
  }
  return kusto;
}

export interface KustoTable {
  readonly name: string;
  readonly columns: readonly Pick<LogAnalyticsColumn, 'name' | 'type'>[];
}

/** The tables Log Analytics has for the runtime's lines: Application Insights traces in a workspace, and container apps' consoles. */
export const AGENT_LOG_TABLES: readonly KustoTable[] = [
  { name: 'AppTraces', columns: [{ name: 'TimeGenerated', type: 'datetime' }, { name: 'Message', type: 'string' }, { name: 'SeverityLevel', type: 'long' }, { name: 'Properties', type: 'dynamic' }, { name: 'AppRoleName', type: 'string' }] },
  { name: 'DCRLogErrors', columns: [{ name: 'TimeGenerated', type: 'datetime' }, { name: 'OperationName', type: 'string' }, { name: 'Message', type: 'string' }, { name: 'InputStreamId', type: 'string' }, { name: '_ResourceId', type: 'string' }] },
  { name: 'ContainerAppConsoleLogs', columns: [{ name: 'TimeGenerated', type: 'datetime' }, { name: 'Log', type: 'string' }, { name: 'ContainerAppName', type: 'string' }, { name: 'Stream', type: 'string' }] },
  { name: 'traces', columns: [{ name: 'timestamp', type: 'datetime' }, { name: 'message', type: 'string' }, { name: 'severityLevel', type: 'long' }, { name: 'customDimensions', type: 'dynamic' }] },
];

export interface KustoAnalysis {
  /** Error diagnostics, as `message (at offset)`. */
  readonly errors: string[];
  /** The result's columns as `name:type`, when the query returns a table. */
  readonly columns: string[];
}

export class KustoDatabase {
  private readonly globals: any;

  constructor(tables: readonly KustoTable[]) {
    const K = language();
    const symbols = tables.map((t) => new K.Symbols.TableSymbol.$ctor7(t.name, `(${t.columns.map((c) => `['${c.name}']:${c.type}`).join(', ')})`, null));
    this.globals = K.GlobalState.Default.WithDatabase(new K.Symbols.DatabaseSymbol.$ctor1('workspace', symbols));
  }

  /** Parses and analyzes `query` as Log Analytics would. */
  analyze(query: string): KustoAnalysis {
    const code = language().KustoCode.ParseAndAnalyze(query, this.globals);
    const diagnostics = code.GetDiagnostics();
    const errors: string[] = [];
    for (let i = 0; i < diagnostics.Count; i++) {
      const d = diagnostics.getItem(i);
      if (String(d.Severity) === 'Error') errors.push(`${d.Message} (at ${d.Start}: ${JSON.stringify(query.slice(d.Start, d.Start + 30))})`);
    }
    const result = code.ResultType;
    const columns: string[] = [];
    if (result?.Columns) for (let i = 0; i < result.Columns.Count; i++) columns.push(`${result.Columns.getItem(i).Name}:${result.Columns.getItem(i).Type.Name}`);
    return { errors, columns };
  }
}
