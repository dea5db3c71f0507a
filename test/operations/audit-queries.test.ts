import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AUDIT_QUERIES } from '../../contract/audit/queries';
import { AUDIT_COLUMNS, AUDIT_SCHEMA_VERSION, auditRow } from '../../contract/audit/schema';
import { main } from '../../bin/audit-query';
import { LocalAuditQueries } from '../../functions/audit-query/local';
import type { RunRecord } from '../../functions/core/audit/records';
import { writeAuditCorpus, type AuditCorpus } from '../__fixtures__/audit-corpus';

/**
 * The named queries, as Athena saves them, run by DuckDB over audit objects the runtime wrote to
 * S3 through its real sink and a loopback S3, downloaded as an operator would.
 */
let corpus: AuditCorpus;
let engine: LocalAuditQueries;
let days: [string, string];

before(async () => {
  corpus = await writeAuditCorpus();
  engine = await LocalAuditQueries.open(corpus.folder);
  days = corpus.days;
});

after(() => engine?.close());

const query = (name: string, ...parameters: string[]) => engine.run(name, [...parameters, ...days]);
const round = (n: unknown) => Math.round(Number(n) * 1e7) / 1e7;

describe('the named audit queries over records the runtime wrote', () => {
  it('reads every record: each carries the schema version and every JSON field a column reads', async () => {
    const rows = await engine.run({ name: 'all', question: '', parameters: [], sql: (t) => `SELECT type, schema_version, run_id, agent, agent_name, day, cohort, outcome FROM ${t}` }, []);
    assert.equal(rows.length, corpus.records.length);
    assert.ok(rows.every((r) => r.schema_version === String(AUDIT_SCHEMA_VERSION) || r.schema_version === AUDIT_SCHEMA_VERSION));
    assert.ok(rows.every((r) => r.agent === r.agent_name && String(r.day) >= days[0] && String(r.day) <= days[1]), 'the partitions from the key agree with the record');
    const fields = new Set(corpus.records.flatMap((r) => Object.keys(r)));
    const unread = [...fields].filter((f) => !AUDIT_COLUMNS.some((c) => c.field === f));
    assert.deepEqual(unread.sort(), ['attempts', 'children', 'structuredOutput'], 'every other field the runtime writes is a column');
  });

  it('cost and tokens per agent, cohort and day', async () => {
    const rows = await query('cost-by-agent-cohort-day');
    const byAgent = Object.fromEntries(rows.map((r) => [r.agent, r]));
    assert.deepEqual(Object.keys(byAgent).sort(), ['billing', 'intake', 'technical', 'triage']);
    assert.deepEqual([byAgent.billing!.cohort, byAgent.triage!.cohort, byAgent.intake!.cohort], ['finance', 'support', 'intake']);
    // triage took three turns; intake five (one answered, one invalid, two around the denied tool,
    // one after the fallback) and none in the run that found no model.
    assert.equal(Number(byAgent.triage!.input_tokens), 300);
    assert.equal(round(byAgent.intake!.cost_usd), round(5 * corpus.turnCost));
    assert.equal(Number(byAgent.intake!.runs), 5);
    const expected = (corpus.records.filter((r) => r.type === 'run') as RunRecord[]).reduce((sum, r) => sum + r.costUsd, 0);
    assert.equal(round(rows.reduce((sum, r) => sum + Number(r.cost_usd), 0)), round(expected));
  });

  it('cost per successful task: every attempt counts, only valid answers divide', async () => {
    const rows = await query('cost-per-successful-task');
    const intake = rows.find((r) => r.agent === 'intake')!;
    // Five runs, three with a valid answer (answered, denied-then-answered, fallback).
    assert.deepEqual([Number(intake.runs), Number(intake.succeeded)], [5, 3]);
    assert.equal(round(intake.cost_per_success_usd), round((5 * corpus.turnCost) / 3));
    const costs = rows.map((r) => Number(r.cost_per_success_usd));
    assert.deepEqual(costs, [...costs].sort((a, b) => b - a), 'the dearest per success first');
    assert.equal(rows[0]!.agent, 'triage', 'three turns for its one answer');
  });

  it('failed runs with their stop reasons and validation failures', async () => {
    const rows = await query('failed-runs');
    assert.deepEqual(rows.map((r) => r.run_id).sort(), [corpus.runs.invalid, corpus.runs.unavailable].sort());
    const invalid = rows.find((r) => r.run_id === corpus.runs.invalid)!;
    assert.deepEqual([invalid.outcome, invalid.stop_reason, invalid.validation_failures], ['failed', 'end_turn', ['rule:dueBy']]);
    const unavailable = rows.find((r) => r.run_id === corpus.runs.unavailable)!;
    assert.deepEqual([unavailable.outcome, unavailable.stop_reason], ['retryable', 'model_unavailable']);
    assert.match(String(unavailable.error), /every model target failed/);
  });

  it('validation failures by rule', async () => {
    assert.deepEqual(await query('validation-failures-by-rule'), [{ agent: 'intake', failure: 'rule:dueBy', answers: '1', runs: '1' }]);
  });

  it('tool denials', async () => {
    const rows = await query('tool-denials');
    assert.deepEqual(rows.map((r) => [r.agent, r.tool, r.denials, r.runs]), [['intake', 'refund', '1', '1']]);
  });

  it('model fallbacks and the target that answered', async () => {
    const rows = await query('model-fallbacks');
    assert.deepEqual(rows.map((r) => [r.agent, r.failed_target, r.answered_by, r.steps]), [['intake', 'bedrock/intake-primary', 'bedrock/intake-backup', '1']]);
  });

  it('slowest runs, longest first', async () => {
    const rows = await query('slowest-runs');
    const durations = rows.map((r) => Number(r.duration_ms));
    assert.deepEqual(durations, [...durations].sort((a, b) => b - a));
    assert.equal(rows.length, corpus.records.filter((r) => r.type === 'run').length);
  });

  it('the chain of a multi-agent conversation by correlation id, in order', async () => {
    const rows = await engine.run('conversation-chain', [corpus.chain, ...days]);
    assert.deepEqual(
      rows.map((r) => [r.hop, r.agent, r.parent_agent, r.kind]),
      [
        [0, 'triage', null, null],
        [1, 'billing', 'triage', 'call'],
        [1, 'technical', 'triage', 'handoff'],
      ].map(([hop, ...rest]) => [String(hop), ...rest]),
    );
    assert.deepEqual(await engine.run('conversation-chain', ['no-such-chain', ...days]), []);
  });

  it('scans only the days asked for', async () => {
    assert.deepEqual(await engine.run('cost-by-agent-cohort-day', ['1999-01-01', '1999-12-31']), []);
  });

  it('refuses an unknown query or missing parameters, naming what it takes', async () => {
    await assert.rejects(engine.run('costs', days), /no audit query named "costs" \(cost-by-agent-cohort-day/);
    await assert.rejects(engine.run('conversation-chain', days), /takes 3 parameters \(correlation id/);
  });

  it('every query is named once and says what each parameter is', () => {
    assert.equal(new Set(AUDIT_QUERIES.map((q) => q.name)).size, AUDIT_QUERIES.length);
    for (const q of AUDIT_QUERIES) assert.equal((q.sql('t').match(/\?/g) ?? []).length, q.parameters.length, q.name);
  });
});

describe('npm run audit-query', () => {
  it('prints a named query\'s rows from a downloaded folder, and names what is wrong otherwise', async () => {
    const lines: string[] = [];
    assert.equal(await main(['tool-denials', corpus.folder, ...days, '--json'], (l) => lines.push(l)), 0);
    assert.deepEqual(lines.map((l) => JSON.parse(l)).map((r) => [r.agent, r.tool]), [['intake', 'refund']]);
    const errors: string[] = [];
    const error = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      assert.equal(await main(['tool-denial', corpus.folder]), 1);
      assert.equal(await main(['tool-denials', corpus.folder, days[0]]), 1);
    } finally {
      console.error = error;
    }
    assert.match(errors[0]!, /no query named "tool-denial"/);
    assert.match(errors[1]!, /tool-denials takes 2 parameters: first day/);
  });
});

describe('auditRow, the row Log Analytics takes', () => {
  it('keeps a step that ran past midnight UTC in its attempt\'s day, as the object key does, and leaves bulky columns out', () => {
    const row = auditRow({ type: 'step', agent: 'intake', attempt: '20261130T235959123Z-abc123', startedAt: '2026-12-01T00:00:01.000Z', request: { big: true }, usage: { inputTokens: 1 }, input: { ticket: 1 } });
    assert.deepEqual([row.agent, row.day, row.type], ['intake', '2026-11-30', 'step']);
    assert.equal(row.request, undefined);
    assert.deepEqual(row.usage, { inputTokens: 1 }, 'nested values stay objects (dynamic columns)');
    assert.equal(auditRow({ agent: 'a', startedAt: '2026-12-01T10:00:00Z' }).day, '2026-12-01', 'a record without an attempt id: its own start');
  });
});
