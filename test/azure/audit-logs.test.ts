import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import type { TokenCredential } from '@azure/identity';
import { LogsIngestionClient } from '@azure/monitor-ingestion';
import { BlobServiceClient } from '@azure/storage-blob';
import { DuckDBInstance } from '@duckdb/node-api';
import { AzureAuditLogs, AUDIT_QUERY_CATEGORY } from '../../constructs/azure/audit-logs';
import { AzureObservability } from '../../constructs/azure/observability';
import { auditKql, AUDIT_KQL_QUERIES } from '../../contract/audit/kql-queries';
import { AUDIT_LOGS_STREAM, AUDIT_LOGS_STREAM_COLUMNS, AUDIT_LOGS_TABLE, AUDIT_LOGS_TABLE_COLUMNS, AUDIT_LOGS_TRANSFORM, fitRow, LOG_ANALYTICS_MAX_VALUE_CHARS } from '../../contract/audit/log-analytics';
import { AUDIT_QUERIES } from '../../contract/audit/queries';
import { AUDIT_COLUMNS, AUDIT_PARTITIONS, auditRow, duckdbType } from '../../contract/audit/schema';
import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { AZURE_AUDIT_INGESTION_FAILED_MESSAGE, AZURE_RUNTIME_ENV, secretSetting } from '../../contract/config/settings';
import { MemoryAuditSink, type AuditRecord } from '../../functions/core/audit/records';
import { CopiedAuditSink, LogsIngestionAuditSink } from '../../functions/azure/logs-ingestion-audit';
import { buildAzureRuntime, type AzureClients } from '../../functions/azure/runtime';
import { exampleAgent } from '../../stacks/single-agent/example-agent';
import { single, synthAzure } from '../__fixtures__/azure-synth';
import { startAzurite, type Azurite } from '../__fixtures__/azurite';
import { AGENT_LOG_TABLES, KustoDatabase } from '../__fixtures__/kusto';
import { startLoopback, type LoopbackServer, type RecordedRequest } from '../__fixtures__/loopback';
import { startAnthropicFake, type ModelFake } from '../__fixtures__/model-fakes';

const LOCATION = { resourceGroupName: 'agents', location: 'westeurope' };
const workspace = new KustoDatabase([{ name: AUDIT_LOGS_TABLE, columns: AUDIT_LOGS_TABLE_COLUMNS }, { name: 'source', columns: AUDIT_LOGS_STREAM_COLUMNS }, ...AGENT_LOG_TABLES]);

describe('the audit table in Log Analytics', () => {
  it('has the schema\'s columns but the bulky ones, the partitions, and TimeGenerated; `type` renamed, since Log Analytics reserves it', () => {
    const expected = [
      'TimeGenerated:datetime',
      ...AUDIT_COLUMNS.filter((c) => !c.bulky).map((c) => `${c.name === 'type' ? 'record_type' : c.name}:${typeof c.type === 'string' ? { string: 'string', bigint: 'long', double: 'real', boolean: 'boolean' }[c.type] : 'dynamic'}`),
      ...AUDIT_PARTITIONS.map((p) => `${p.name}:string`),
      'truncated_columns:dynamic',
    ];
    assert.deepEqual(AUDIT_LOGS_TABLE_COLUMNS.map((c) => `${c.name}:${c.type}`), expected);
    assert.ok(!AUDIT_LOGS_TABLE_COLUMNS.some((c) => c.name === 'request' || c.name === 'response'));
  });

  it('takes from its stream exactly the keys auditRow writes', () => {
    const run = { type: 'run', schemaVersion: 2, runId: 'r', attempt: 'a', agent: 'support', cohort: 'support', startedAt: '2026-03-01T10:00:00.000Z', usage: { inputTokens: 1 }, chain: { hop: 1 }, validationFailures: ['rule:x'], request: { big: true } };
    const keys = Object.keys(auditRow(run));
    const stream = AUDIT_LOGS_STREAM_COLUMNS.map((c) => c.name);
    assert.ok(keys.every((k) => stream.includes(k)), `${keys.filter((k) => !stream.includes(k))} not in the stream`);
    assert.ok(!keys.includes('request'));
  });

  it('fills it by a transform Kusto accepts, whose output is the table, column for column and type for type', () => {
    const { errors, columns } = workspace.analyze(AUDIT_LOGS_TRANSFORM);
    assert.deepEqual(errors, []);
    // Kusto names the boolean type `bool`.
    assert.deepEqual(columns.map((c) => c.replace(/:bool$/, ':boolean')).sort(), AUDIT_LOGS_TABLE_COLUMNS.map((c) => `${c.name}:${c.type}`).sort());
    assert.match(AUDIT_LOGS_TRANSFORM, /extend TimeGenerated = todatetime\(started_at\)/);
  });
});

describe('the standard questions in KQL', () => {
  it('mirror each SQL query: same names in the same order, the same questions, a let per ? with its description', () => {
    assert.deepEqual(AUDIT_KQL_QUERIES.map((q) => q.name), AUDIT_QUERIES.map((q) => q.name));
    AUDIT_KQL_QUERIES.forEach((kql, i) => {
      assert.equal(kql.question, AUDIT_QUERIES[i]!.question);
      assert.deepEqual(kql.parameters.map((p) => p.description), AUDIT_QUERIES[i]!.parameters);
      const text = auditKql(kql);
      for (const p of kql.parameters) assert.match(text, new RegExp(`^let ${p.name} = .+; // `, 'm'));
    });
  });

  it('pass Kusto\'s semantic analysis against the table, with their defaults and with values given', () => {
    for (const query of AUDIT_KQL_QUERIES) {
      assert.deepEqual(workspace.analyze(auditKql(query)).errors, [], query.name);
      const values = Object.fromEntries(query.parameters.map((p) => [p.name, p.name === 'correlation' ? 'run-"1"' : '2026-03-01']));
      assert.deepEqual(workspace.analyze(auditKql(query, values)).errors, [], `${query.name} with values`);
    }
  });

  it('fail the analysis on a column the table does not have, so the check can fail', () => {
    const broken = { ...AUDIT_KQL_QUERIES[0]!, body: (t: string) => AUDIT_KQL_QUERIES[0]!.body(t).replace('cost_usd = sum(cost_usd)', 'cost_usd = sum(cost)') };
    assert.match(workspace.analyze(auditKql(broken)).errors.join('\n'), /The name 'cost' does not refer to any known column/);
    assert.throws(() => auditKql(AUDIT_KQL_QUERIES[0]!, { day: '2026-03-01' }), /audit query cost-by-agent-cohort-day takes no parameter day \(it takes first_day, last_day\)/);
  });

  it('answer with the columns the SQL query answers with, in the same order', async () => {
    const duck = await DuckDBInstance.create(':memory:');
    const connection = await duck.connect();
    try {
      const columns = [...AUDIT_COLUMNS.map((c) => `"${c.name}" ${duckdbType(c.type)}`), ...AUDIT_PARTITIONS.map((p) => `"${p.name}" VARCHAR`)];
      await connection.run(`CREATE TABLE audit (${columns.join(', ')})`);
      for (const [i, sql] of AUDIT_QUERIES.entries()) {
        const reader = await connection.runAndReadAll(sql.sql('audit'), sql.parameters.map(() => 'x'));
        const kql = workspace.analyze(auditKql(AUDIT_KQL_QUERIES[i]!)).columns.map((c) => c.split(':')[0]);
        assert.deepEqual(kql, reader.columnNames(), sql.name);
      }
    } finally {
      connection.closeSync();
      duck.closeSync();
    }
  });
});

describe('AzureAuditLogs', () => {
  const resources = synthAzure((scope) => new AzureAuditLogs(scope, 'Audit', { observability: new AzureObservability(scope, 'Observability', { name: 'agents', ...LOCATION }), name: 'agents' }));

  it('creates the custom table with the derived columns in the workspace', () => {
    const table = single(resources, 'azurerm_log_analytics_workspace_table_custom_log');
    assert.equal(table.name, AUDIT_LOGS_TABLE);
    assert.match(table.workspace_id, /azurerm_log_analytics_workspace\.Observability_Workspace_\w+\.id/);
    // The tables API spells the time type dateTime, which the provider checks case-sensitively.
    assert.deepEqual(table.column.map((c: { name: string; type: string }) => `${c.name}:${c.type}`), AUDIT_LOGS_TABLE_COLUMNS.map((c) => `${c.name}:${c.type === 'datetime' ? 'dateTime' : c.type}`));
    assert.ok(table.column.some((c: { name: string; type: string }) => c.name === 'TimeGenerated' && c.type === 'dateTime'));
  });

  it('cuts a value too long for Log Analytics, leaves out a nested one, and says which', () => {
    const long = 'x'.repeat(LOG_ANALYTICS_MAX_VALUE_CHARS + 10);
    const row = fitRow(auditRow({ type: 'run', runId: 'r', attempt: '20261130T100000000Z-ab', agent: 'support', input: long, validation: { ok: false, problems: [{ kind: 'rule', path: 'x', message: long }] }, output: 'short' }));
    assert.equal((row.input as string).length, LOG_ANALYTICS_MAX_VALUE_CHARS);
    assert.equal(row.validation, undefined, 'a cut nested value would not be JSON');
    assert.deepEqual([row.output, [...(row.truncated_columns as string[])].sort()], ['short', ['input', 'validation']]);
    assert.ok(JSON.stringify(row).length < 1_000_000, 'far inside the API\'s 1 MB a call');
    assert.equal(fitRow(auditRow({ type: 'run', runId: 'r', agent: 'a' })).truncated_columns, undefined);
  });

  it('sends the rule\'s own error log (rows it took but could not write) to the workspace', () => {
    const setting = single(resources, 'azurerm_monitor_diagnostic_setting');
    assert.match(setting.target_resource_id, /azurerm_monitor_data_collection_rule\.Audit_Rule_\w+\.id/);
    assert.deepEqual([setting.enabled_log, setting.log_analytics_destination_type], [[{ category: 'LogErrors' }], 'Dedicated']);
  });

  it('ingests through a data collection endpoint and rule: the stream auditRow fills, the transform, the table as output', () => {
    const rule = single(resources, 'azurerm_monitor_data_collection_rule');
    const endpoint = single(resources, 'azurerm_monitor_data_collection_endpoint');
    assert.equal(endpoint.name, 'agents-dce');
    assert.match(rule.data_collection_endpoint_id, /azurerm_monitor_data_collection_endpoint\.\w+\.id/);
    assert.deepEqual(rule.stream_declaration, [{ stream_name: AUDIT_LOGS_STREAM, column: AUDIT_LOGS_STREAM_COLUMNS.map((c) => ({ name: c.name, type: c.type })) }]);
    assert.deepEqual(rule.data_flow, [{ streams: [AUDIT_LOGS_STREAM], destinations: ['audit'], output_stream: `Custom-${AUDIT_LOGS_TABLE}`, transform_kql: AUDIT_LOGS_TRANSFORM }]);
    assert.match(rule.destinations.log_analytics[0].workspace_resource_id, /azurerm_log_analytics_workspace\.\w+\.id/);
    assert.match(rule.depends_on[0], /azurerm_log_analytics_workspace_table_custom_log\./);
  });

  it('saves one search per standard question, under the SQL query\'s name, with its KQL', () => {
    const searches = Object.values(resources.azurerm_log_analytics_saved_search!);
    assert.deepEqual(searches.map((s) => s.name).sort(), AUDIT_QUERIES.map((q) => q.name).sort());
    for (const search of searches) {
      const query = AUDIT_KQL_QUERIES.find((q) => q.name === search.name)!;
      assert.equal(search.query, auditKql(query));
      assert.equal(search.category, AUDIT_QUERY_CATEGORY);
      assert.equal(search.function_alias, undefined);
    }
  });

  it('gives an identity Monitoring Metrics Publisher on the rule alone, and the settings naming it', () => {
    const granted = synthAzure((scope) => {
      const logs = new AzureAuditLogs(scope, 'Audit', { observability: new AzureObservability(scope, 'Observability', { name: 'agents', ...LOCATION }) });
      logs.grantIngest('principal-1', 'support');
      assert.deepEqual(Object.keys(logs.settings), [AZURE_RUNTIME_ENV.auditLogsEndpoint, AZURE_RUNTIME_ENV.auditLogsRuleId]);
    });
    const assignment = single(granted, 'azurerm_role_assignment');
    assert.equal(assignment.role_definition_name, 'Monitoring Metrics Publisher');
    assert.match(assignment.scope, /^\$\{azurerm_monitor_data_collection_rule\.\w+\.id\}$/);
  });

  it('refuses a retention Log Analytics does not allow', () => {
    assert.throws(
      () => synthAzure((scope) => new AzureAuditLogs(scope, 'Audit', { observability: new AzureObservability(scope, 'Observability', { name: 'agents', ...LOCATION }), retentionInDays: 2 })),
      /AzureAuditLogs stack\/Audit: retentionInDays must be a whole number of days from 4 to 730/,
    );
  });
});

/** A fake of the Logs Ingestion API: what a data collection endpoint answers to an upload. */
function logsIngestionFake(answer: () => number = () => 204) {
  return startLoopback((request) => {
    // As a URL decodes it: the client sends `api%2Dversion`.
    const url = new URL(request.path, 'http://fake');
    const match = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
    if (request.method !== 'POST' || !match || url.searchParams.get('api-version') !== '2023-01-01') return { status: 404, body: { error: { code: 'NotFound', message: `no ${request.method} ${request.path}` } } };
    if (!String(request.headers.authorization).startsWith('Bearer ')) return { status: 401, body: { error: { code: 'InvalidToken' } } };
    const status = answer();
    return status === 204 ? { status } : { status, body: { error: { code: 'OperationFailed', message: `scripted ${status}` } } };
  });
}

const ENDPOINT = 'https://agents-dce-a1b2.westeurope-1.ingest.monitor.azure.com';
/** The requested scopes, to check the client asks for Azure Monitor's audience. */
const scopes: string[] = [];
const credential: TokenCredential = {
  getToken: async (scope) => {
    scopes.push(...[scope].flat());
    return { token: 'entra-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

/**
 * The real client, its requests to the endpoint's https URL carried to the loopback fake over
 * plain HTTP: the client refuses bearer tokens over http, and the fake has no certificate.
 */
function ingestionClient(fake: LoopbackServer): LogsIngestionClient {
  return new LogsIngestionClient(ENDPOINT, credential, {
    retryOptions: { maxRetries: 0 },
    httpClient: {
      sendRequest: async (request) => {
        const headers = Object.fromEntries([...request.headers].map(([k, v]) => [k, v]));
        const response = await fetch(request.url.replace(ENDPOINT, fake.url), { method: request.method, headers, body: request.body as Uint8Array });
        const map = new Map([...response.headers].map(([k, v]) => [k.toLowerCase(), v]));
        const responseHeaders = {
          get: (name: string) => map.get(name.toLowerCase()),
          has: (name: string) => map.has(name.toLowerCase()),
          set: (name: string, value: string | number) => void map.set(name.toLowerCase(), String(value)),
          delete: (name: string) => void map.delete(name.toLowerCase()),
          toJSON: () => Object.fromEntries(map),
          [Symbol.iterator]: () => map.entries(),
        };
        return { request, status: response.status, headers: responseHeaders, bodyAsText: await response.text() };
      },
    },
  });
}

const rowsOf = (request: RecordedRequest) => request.body as Record<string, unknown>[];

describe('the runtime\'s copy of its audit records to Log Analytics', () => {
  let fake: LoopbackServer;
  let azurite: Azurite;
  let anthropic: ModelFake;
  let failing = false;
  let service: BlobServiceClient;
  const AUDIT = 'http://agent-audit.invalid';
  const RULE = 'dcr-00112233445566778899aabbccddeeff';

  before(async () => {
    fake = await logsIngestionFake(() => (failing ? 403 : 204));
    azurite = await startAzurite();
    anthropic = await startAnthropicFake(() => ({ text: JSON.stringify({ category: 'billing', severity: 'sev3', summary: 'refund', nextAction: 'answer', dueBy: new Date(Date.now() + 86_400_000).toISOString(), confidence: 0.9 }) }));
    process.env.ANTHROPIC_BASE_URL = anthropic.url;
    service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await service.getContainerClient('audit').create();
  });

  after(async () => {
    delete process.env.ANTHROPIC_BASE_URL;
    await Promise.all([fake?.close(), azurite?.stop(), anthropic?.close()]);
  });

  const runtime = () => {
    const config: AgentRuntimeConfig = { definition: { ...exampleAgent(), skills: [] }, route: [{ provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'anthropic-api-key' }] };
    const env = { [secretSetting('anthropic-api-key')]: 'k', [AZURE_RUNTIME_ENV.auditAccountUrl]: AUDIT, [AZURE_RUNTIME_ENV.auditLogsEndpoint]: ENDPOINT, [AZURE_RUNTIME_ENV.auditLogsRuleId]: RULE };
    const clients: AzureClients = {
      container: (url, name) => {
        assert.equal(url, AUDIT);
        return service.getContainerClient(name);
      },
      topic: () => assert.fail('no topic is configured'),
      logsIngestion: (endpoint) => {
        assert.equal(endpoint, ENDPOINT);
        return ingestionClient(fake);
      },
    };
    return buildAzureRuntime(config, env, clients);
  };
  const storedRecords = async (runId: string) => {
    const records: AuditRecord[] = [];
    for await (const blob of service.getContainerClient('audit').listBlobsFlat()) {
      if (!blob.name.includes(`/${runId}/`)) continue;
      const text = (await service.getContainerClient('audit').getBlobClient(blob.name).downloadToBuffer()).toString('utf8');
      records.push(...text.trim().split('\n').map((line) => JSON.parse(line) as AuditRecord));
    }
    return records;
  };

  it('sends each record, after Blob storage, as the row auditRow makes of it, to the rule\'s stream with an Entra ID token', async () => {
    const result = await (await runtime()).agent.run({ runId: 'run-1', input: 'Refund order ord_87654321.', trigger: 'api', deadline: Date.now() + 30_000 });
    assert.equal(result.stopReason, 'end_turn');
    const stored = await storedRecords('run-1');
    assert.deepEqual(stored.map((r) => r.type).sort(), ['run', 'step']);

    assert.equal(fake.requests.length, 1);
    const [request] = fake.requests;
    const url = new URL(request!.path, 'http://fake');
    assert.deepEqual([url.pathname, url.searchParams.get('api-version')], [`/dataCollectionRules/${RULE}/streams/${AUDIT_LOGS_STREAM}`, '2023-01-01']);
    assert.equal(request!.headers.authorization, 'Bearer entra-token');
    assert.equal(request!.headers['content-encoding'], 'gzip');
    assert.ok(scopes.every((s) => s === 'https://monitor.azure.com/.default'), scopes.join());
    // The rows are the stored records, as auditRow makes them: no bulky request or response.
    assert.deepEqual(rowsOf(request!), JSON.parse(JSON.stringify(stored.map((r) => auditRow(r as unknown as Record<string, unknown>)))));
    const declared = new Map(AUDIT_LOGS_STREAM_COLUMNS.map((c) => [c.name, c.type]));
    for (const row of rowsOf(request!)) {
      assert.equal(row.request, undefined);
      for (const [key, value] of Object.entries(row)) {
        const type = declared.get(key);
        assert.ok(type, `${key} is not a column of the stream`);
        const fits = { string: typeof value === 'string', long: Number.isInteger(value), real: typeof value === 'number', boolean: typeof value === 'boolean', dynamic: typeof value === 'object' }[type as string];
        assert.ok(fits, `${key}: ${JSON.stringify(value)} is not a ${type}`);
      }
    }
    assert.equal(rowsOf(request!).find((r) => r.type === 'run')!.agent, 'support');
  });

  it('keeps the run and its record of truth when Log Analytics refuses the copy, and says so in one error line', async () => {
    failing = true;
    const errors = mock.method(console, 'error', () => {});
    try {
      const result = await (await runtime()).agent.run({ runId: 'run-2', input: 'Refund order ord_87654322.', trigger: 'api', deadline: Date.now() + 30_000 });
      assert.equal(result.stopReason, 'end_turn');
      assert.equal((await storedRecords('run-2')).length, 2);
      assert.equal(fake.requests.length, 2);
      const lines = errors.mock.calls.map((c) => String(c.arguments[0])).filter((l) => l.includes(AZURE_AUDIT_INGESTION_FAILED_MESSAGE));
      assert.equal(lines.length, 1);
      const line = JSON.parse(lines[0]!);
      assert.deepEqual([line.message, line.agent, line.cohort, line.runs, line.records], [AZURE_AUDIT_INGESTION_FAILED_MESSAGE, 'support', 'support', ['run-2'], 2]);
      assert.equal(line.error, '403 scripted 403');
    } finally {
      errors.mock.restore();
      failing = false;
    }
  });
});

describe('CopiedAuditSink', () => {
  const record = { type: 'run', runId: 'r-1' } as unknown as AuditRecord;

  it('fails as before when the record of truth fails, and then sends no copy', async () => {
    const copy = new MemoryAuditSink();
    const sink = new CopiedAuditSink({ write: async () => Promise.reject(new Error('blob refused')) }, copy, { name: 'a', cohort: 'c' }, () => assert.fail('no copy was tried'));
    await assert.rejects(sink.write([record]), /blob refused/);
    assert.equal(copy.records.length, 0);
  });

  it('gives the copy a deadline, so a stuck endpoint cannot hold the run past its limit', async () => {
    let signal: { readonly aborted: boolean } | undefined;
    const sink = new LogsIngestionAuditSink({ upload: async (_rule, _stream, _rows, options) => void (signal = options?.abortSignal) }, 'dcr-1', 1_000);
    await sink.write([record]);
    assert.ok(signal && !signal.aborted);
  });
});
