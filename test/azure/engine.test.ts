import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AZAPI_PROVIDER, Testing, TIME_PROVIDER, terraformResource } from '../../constructs/azure/engine';
import { projectSources } from '../helpers';

const sources = projectSources();
const ENGINE = 'constructs/azure/engine.ts';
const importsOf = (text: string) => [...text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);

describe('the Azure engine module', () => {
  it('is the only file that imports CDK for Terraform or the azurerm provider', () => {
    const offenders = sources.filter((f) => f.path !== ENGINE && importsOf(f.text).some((s) => s === 'cdktf' || s.startsWith('@cdktf/')));
    assert.deepEqual(offenders.map((f) => f.path), []);
  });

  it('imports provider classes by deep path, never the barrel', () => {
    const provider = importsOf(sources.find((f) => f.path === ENGINE)!.text).filter((s) => s.startsWith('@cdktf/provider-azurerm'));
    assert.ok(provider.length > 10);
    for (const specifier of provider) assert.match(specifier, /^@cdktf\/provider-azurerm\/lib\/[a-z0-9-]+$/);
  });

  it('declares a provider without a binding once per stack, and writes its resources as given', () => {
    const out = JSON.parse(
      Testing.synthScope((scope) => {
        const first = terraformResource(scope, 'First', 'time_sleep', { provider: TIME_PROVIDER, attributes: { create_duration: '1s' } });
        terraformResource(scope, 'Second', 'time_sleep', { provider: TIME_PROVIDER, attributes: { create_duration: '2s' }, dependsOn: [first] });
        terraformResource(scope, 'Action', 'azapi_resource_action', { provider: AZAPI_PROVIDER, attributes: { action: 'x', method: 'POST' }, lifecycle: { replaceTriggeredBy: [first] } });
        terraformResource(scope, 'Data', 'terraform_data', { attributes: { input: 'y' } });
      }),
    );
    assert.deepEqual(out.terraform.required_providers, { time: { source: 'hashicorp/time', version: '~> 0.12' }, azapi: { source: 'Azure/azapi', version: '~> 2.0' } });
    assert.deepEqual(out.resource.time_sleep.Second, { create_duration: '2s', depends_on: ['time_sleep.First'] });
    assert.deepEqual(out.resource.azapi_resource_action.Action.lifecycle, { replace_triggered_by: ['${time_sleep.First}'] });
    assert.deepEqual(out.resource.terraform_data.Data, { input: 'y' });
    assert.equal(out.provider, undefined, 'no provider block: they sign in as azurerm does');
  });

  it('refuses a resource type of another provider than the one named', () => {
    assert.throws(() => Testing.synthScope((scope) => terraformResource(scope, 'X', 'azurerm_thing', { provider: TIME_PROVIDER, attributes: {} })), /stack\/X: resource type azurerm_thing is not of provider time/);
  });
});
