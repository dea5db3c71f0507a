import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from '../../constructs/azure/engine';
import { AzureObservability } from '../../constructs/azure/observability';

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
});
