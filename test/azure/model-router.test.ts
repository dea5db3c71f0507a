import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AzureModelRouter } from '../../constructs/azure/model-router';
import { AzureSecrets } from '../../constructs/azure/secrets';
import { defineAgent } from '../../contract/definition';
import { agentInput } from '../helpers';
import { AZURE_ROUTER, roleAssignments, synthAzure } from '../__fixtures__/azure-synth';
import type { RouterConfig } from '../../contract/routing/config';

function routeOf(models: RouterConfig, agent = agentInput()) {
  let route: unknown;
  synthAzure((scope) => {
    const secrets = new AzureSecrets(scope, 'Secrets', { name: 'agents-vault', resourceGroupName: 'agents', location: 'westeurope' });
    route = new AzureModelRouter(scope, 'Models', { models, secrets }).route(defineAgent(agent));
  });
  return route;
}

describe('AzureModelRouter', () => {
  it('routes an Azure OpenAI deployment through its v1 OpenAI-compatible endpoint, the Anthropic API behind it', () => {
    assert.deepEqual(routeOf(AZURE_ROUTER), [
      { provider: 'openai-compatible', model: 'gpt-4-1', baseUrl: 'https://agents-openai.openai.azure.com/openai/v1', apiKeySecret: 'azure-openai-api-key', billedBy: 'azure' },
      { provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'anthropic-api-key' },
    ]);
  });

  it('takes OpenAI-compatible endpoints as they are', () => {
    const models: RouterConfig = { aliases: { smart: [{ provider: 'openai-compatible', model: 'llama-3.3-70b', baseUrl: 'https://llm.internal.example.com/v1' }] } };
    assert.deepEqual(routeOf(models), [{ provider: 'openai-compatible', model: 'llama-3.3-70b', baseUrl: 'https://llm.internal.example.com/v1' }]);
  });

  it('grants read on the route secrets, each on its own, and settings that reference them', () => {
    let settings: Record<string, string> = {};
    const resources = synthAzure((scope) => {
      const secrets = new AzureSecrets(scope, 'Secrets', { name: 'agents-vault', resourceGroupName: 'agents', location: 'westeurope' });
      const router = new AzureModelRouter(scope, 'Models', { models: AZURE_ROUTER, secrets });
      const route = router.route(defineAgent(agentInput({ model: 'fast' })));
      router.grantRead(route, 'principal-1', 'helper');
      settings = router.settings(route);
    });
    const readers = roleAssignments(resources).filter((r) => r.startsWith('Key Vault Secrets User'));
    assert.deepEqual(readers, [`Key Vault Secrets User @ \${azurerm_key_vault_secret.${Object.keys(resources.azurerm_key_vault_secret!)[0]}.resource_versionless_id}`]);
    assert.deepEqual(Object.values(resources.azurerm_key_vault_secret!).map((s) => s.name), ['azure-openai-api-key']);
    assert.deepEqual(Object.keys(settings), ['SECRET_AZURE_OPENAI_API_KEY']);
  });

  it('refuses a secret name Key Vault cannot hold, naming the agent and the target', () => {
    const models: RouterConfig = { aliases: { smart: [{ provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'team/anthropic' }] } };
    assert.throws(() => routeOf(models), /agent "helper": model: "smart" target 1: apiKeySecret "team\/anthropic" is not a Key Vault secret name/);
  });

  it('refuses a malformed Azure OpenAI target, naming the field', () => {
    const models = { aliases: { smart: [{ provider: 'azure-openai', resource: 'https://x.openai.azure.com', deployment: 'gpt', apiKeySecret: 'k' }] } } as RouterConfig;
    assert.throws(() => routeOf(models), /AzureModelRouter stack\/Models: aliases\.smart\[0\]\.resource: must be an Azure OpenAI resource name/);
  });
});
