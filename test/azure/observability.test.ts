import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from '../../constructs/azure/engine';
import { AzureObservability, failedRunsQuery } from '../../constructs/azure/observability';
import { LogMetrics } from '../../functions/azure/runtime';

type Resources = Record<string, Record<string, Record<string, any>>>;
const synth = (retentionInDays?: number) =>
  (JSON.parse(Testing.synthScope((scope) => new AzureObservability(scope, 'Obs', { name: 'agents', resourceGroupName: 'agents', location: 'westeurope', ...(retentionInDays && { retentionInDays }) }))) as { resource: Resources }).resource;

describe('AzureObservability', () => {
  it('puts workspace-based Application Insights over Log Analytics, with key ingestion off', () => {
    const resources = synth();
    const [workspace] = Object.values(resources.azurerm_log_analytics_workspace!);
    const [insights] = Object.values(resources.azurerm_application_insights!);
    assert.equal(workspace!.local_authentication_enabled, false);
    assert.equal(workspace!.retention_in_days, 90);
    assert.match(insights!.workspace_id, /^\$\{azurerm_log_analytics_workspace\.[A-Za-z0-9_]+\.id\}$/);
    assert.equal(insights!.local_authentication_disabled, true);
  });

  it('takes a retention and refuses one Log Analytics does not allow', () => {
    assert.equal(Object.values(synth(365).azurerm_log_analytics_workspace!)[0]!.retention_in_days, 365);
    assert.throws(() => synth(7), /AzureObservability stack\/Obs: retentionInDays must be 30-730, got 7/);
  });

  it('alerts on failed runs of one agent within five minutes, from the metrics line', () => {
    const resources = (JSON.parse(Testing.synthScope((scope) => new AzureObservability(scope, 'Obs', { name: 'agents', resourceGroupName: 'agents', location: 'westeurope' }).alertOnFailedRuns('support'))) as { resource: Resources }).resource;
    const [alert] = Object.values(resources.azurerm_monitor_scheduled_query_rules_alert_v2!);
    assert.equal(alert!.name, 'agents-support-failed-runs');
    assert.deepEqual([alert!.evaluation_frequency, alert!.window_duration, alert!.severity], ['PT5M', 'PT5M', 2]);
    assert.equal(alert!.criteria[0].query, failedRunsQuery('support'));
  });

  it('reads the fields the runtime writes in its metrics line', () => {
    const lines: string[] = [];
    const metrics = new LogMetrics('support', 'default', (line) => lines.push(line));
    metrics.add('RunFailures', 'Count', 1);
    metrics.add('Runs', 'Count', 1);
    metrics.flush();
    // What the query filters and sums, read from the line as the query does.
    const line = JSON.parse(lines[0]!.slice(lines[0]!.indexOf('{')));
    const query = failedRunsQuery('support');
    assert.ok(query.includes(`message has "${line.message}"`) && query.includes(`tostring(line.message) == "${line.message}"`));
    assert.ok(query.includes(`tostring(line.agent) == "${line.agent}"`));
    assert.match(query, /toint\(line\.metrics\.RunFailures\.value\)/);
    assert.equal(line.metrics.RunFailures.value, 1);
  });
});
