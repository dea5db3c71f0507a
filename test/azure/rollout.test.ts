import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentDefinitionError } from '../../contract/definition/define';
import { AZURE_ROLLOUT_OUTPUT, azureRolloutTargets } from '../../contract/delivery/azure-rollout';
import { Testing } from '../../constructs/azure/engine';
import { secureDefaultFindings } from '../../constructs/azure/secure-defaults';
import { agentInput } from '../helpers';
import { azureAgent, single } from '../__fixtures__/azure-synth';

const worker = agentInput({ triggers: [{ type: 'api' }, { type: 'queue' }, { type: 'schedule', expression: 'rate(1 hour)', input: 'Sweep.' }, { type: 'event', pattern: { source: ['shop.orders'] } }] });
const synth = (props: Partial<Parameters<typeof azureAgent>[1]> = {}, planSku?: string) =>
  JSON.parse(Testing.synthScope((scope) => azureAgent(scope, { agent: worker, rollout: { strategy: 'canary', minutes: 15, maxRunFailureRate: 0.1 }, ...props }, planSku ? { planSku } : {}))) as {
    resource: Record<string, Record<string, Record<string, any>>>;
    output: Record<string, { value: unknown }>;
  };

describe('a gradual rollout of an Azure agent', () => {
  const stack = synth();
  const app = single(stack.resource, 'azurerm_linux_function_app');
  const slot = single(stack.resource, 'azurerm_linux_function_app_slot');

  it('deploys new versions to a staging slot; production takes settings and code only by a swap', () => {
    assert.equal(slot.name, 'staging');
    assert.match(slot.function_app_id, /^\$\{azurerm_linux_function_app\.Agent_App_\w+\.id\}$/);
    assert.deepEqual(app.lifecycle, { ignore_changes: ['app_settings'] });
    assert.equal(slot.app_settings.WEBSITE_RUN_FROM_PACKAGE, app.app_settings.WEBSITE_RUN_FROM_PACKAGE);
    assert.equal(slot.app_settings.AGENT_CONFIG, app.app_settings.AGENT_CONFIG);
    // The same identity, site and sign-in as production.
    assert.deepEqual(slot.identity, app.identity);
    assert.deepEqual(slot.site_config, app.site_config);
    assert.deepEqual(slot.auth_settings_v2, app.auth_settings_v2);
    assert.deepEqual(slot.depends_on, app.depends_on, 'waits for the same roles');
  });

  it("switches off in staging what would run beside production (queue, events, schedules), with a host id of its own, each sticky", () => {
    const own = Object.keys(slot.app_settings).filter((k) => slot.app_settings[k] !== app.app_settings[k]).sort();
    assert.deepEqual(own, ['AzureFunctionsWebHost__hostid', 'AzureWebJobs.events.Disabled', 'AzureWebJobs.queue.Disabled', 'AzureWebJobs.schedule_0.Disabled']);
    assert.equal(slot.app_settings['AzureWebJobs.queue.Disabled'], 'true');
    // Linux app setting names take letters, digits, "." and "_" only.
    for (const name of [...Object.keys(slot.app_settings), ...Object.keys(app.app_settings)]) assert.match(name, /^[A-Za-z0-9._]+$/, name);
    assert.deepEqual([...app.sticky_settings.app_setting_names].sort(), own);
    assert.equal(app.app_settings['AzureWebJobs.queue.Disabled'], undefined, 'production keeps every function');
  });

  it('gives a durable agent a task hub of its own in staging', () => {
    const durable = synth({ agent: agentInput({ name: 'ledger', durable: true, limits: { timeoutSeconds: 3600 }, triggers: [{ type: 'queue' }] }) });
    const s = single(durable.resource, 'azurerm_linux_function_app_slot');
    assert.equal(s.app_settings.AzureFunctionsJobHost__extensions__durableTask__hubName, 'ledgerstaging');
    assert.ok(single(durable.resource, 'azurerm_linux_function_app').sticky_settings.app_setting_names.includes('AzureFunctionsJobHost__extensions__durableTask__hubName'));
  });

  it('outputs what the rollout swaps and watches, with the agent\'s thresholds', () => {
    const [target] = azureRolloutTargets({ stack: Object.fromEntries(Object.entries(stack.output).map(([k, v]) => [k, v.value])) });
    assert.deepEqual({ ...target, app: undefined, resourceGroup: undefined, insightsAppId: undefined }, {
      kind: AZURE_ROLLOUT_OUTPUT, agent: 'helper', app: undefined, resourceGroup: undefined, insightsAppId: undefined, minutes: 15, maxRunFailureRate: 0.1, maxValidationFailureRate: 0.05,
    });
    assert.match(target!.insightsAppId, /azurerm_application_insights\.\w+\.app_id/);
    assert.equal(target!.app, app.name);
  });

  it('holds the slot to the same secure defaults as the app', () => {
    // The fixture has no provider block; the function rules are what a slot can break.
    const functionFindings = (resource: typeof stack.resource) => secureDefaultFindings({ resource } as never).filter((f) => f.rule.startsWith('AzureSecure-Function'));
    assert.deepEqual(functionFindings(stack.resource), []);
    const open = structuredClone(stack.resource);
    single(open, 'azurerm_linux_function_app_slot').https_only = false;
    single(open, 'azurerm_linux_function_app_slot').app_settings.HTTP_AUTH_LEVEL = 'anonymous';
    delete single(open, 'azurerm_linux_function_app_slot').auth_settings_v2;
    assert.deepEqual(functionFindings(open).map((f) => f.rule), ['AzureSecure-FunctionHttpsOnly', 'AzureSecure-FunctionAnonymous']);
  });

  it('all at once, or no rollout: no slot', () => {
    for (const rollout of [{ strategy: 'all-at-once' as const }, undefined]) {
      const plain = JSON.parse(Testing.synthScope((scope) => azureAgent(scope, { agent: worker, ...(rollout && { rollout }) }))) as { resource: Record<string, Record<string, unknown>> };
      assert.equal(plain.resource.azurerm_linux_function_app_slot, undefined);
    }
  });

  it('fails synth naming the agent and the field on a plan without slots or a step that is not predefined', () => {
    assert.throws(() => synth({}, 'B1'), (e: unknown) => e instanceof AgentDefinitionError && /agent "helper": rollout: a gradual rollout deploys to a staging slot, which the plan B1 does not have/.test(e.message));
    assert.throws(() => synth({ rollout: { strategy: 'linear', minutes: 4 } }), /agent "helper": rollout\.minutes: must be one of 1, 2, 3, 10/);
    for (const sku of ['Y1', 'EP2', 'S1', 'P1v3']) assert.doesNotThrow(() => synth({}, sku), sku);
  });
});
