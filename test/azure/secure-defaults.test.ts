import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AzureSecureDefaults } from '../../constructs/azure';
import { AzurermProvider, StorageAccount, StorageContainer, StorageContainerImmutabilityPolicy, Testing, TerraformStack } from '../../constructs/azure/engine';
import { ACKNOWLEDGMENTS_KEY, secureDefaultFindings, type SynthesizedStack } from '../../constructs/azure/secure-defaults';
import { defineAgent } from '../../contract/definition';
import { agentInput } from '../helpers';
import { azureAgent } from '../__fixtures__/azure-synth';

const LOCATION = { resourceGroupName: 'agents', location: 'westeurope' };

/** A stack the way a user builds one, checked when synthesized as `cdktf synth` would. */
function synth(build: (stack: TerraformStack) => void): Record<string, any> {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'team');
  new AzurermProvider(stack, 'Azure', { features: [{}], storageUseAzuread: true });
  build(stack);
  Testing.synth(stack, true);
  // Testing.synth leaves out the stack's `//` block, where acknowledgments are recorded.
  return stack.toTerraform() as Record<string, any>;
}

const keyedAccount = (stack: TerraformStack) =>
  new StorageAccount(stack, 'Legacy', { name: 'legacyshared01', ...LOCATION, accountTier: 'Standard', accountReplicationType: 'LRS', minTlsVersion: 'TLS1_2', allowNestedItemsToBePublic: false });

describe('the Azure secure-default checks', () => {
  it('come with the constructs: a stack that uses them refuses a resource that breaks a default, naming rule and construct', () => {
    assert.throws(
      () =>
        synth((stack) => {
          azureAgent(stack, { agent: agentInput({ triggers: [{ type: 'api' }] }) });
          keyedAccount(stack);
        }),
      /AzureSecure-StorageSharedKeys: team\/Legacy accepts shared keys; fix it, or acknowledge the rule there with AzureSecureDefaults\.acknowledge and the reason/,
    );
  });

  it('pass the constructs themselves with no finding and no acknowledgment', () => {
    const out = synth((stack) => azureAgent(stack, { agent: agentInput({ triggers: [{ type: 'api' }, { type: 'job' }] }) }));
    assert.equal(out['//'][ACKNOWLEDGMENTS_KEY], undefined);
    assert.deepEqual(secureDefaultFindings(out as SynthesizedStack), []);
  });

  it('refuse an audit container without a time-based immutability policy, or one that lets records be appended to', () => {
    const audit = (stack: TerraformStack, policy?: { appends: boolean }) => {
      AzureSecureDefaults.applyTo(stack);
      const container = new StorageContainer(stack, 'Audit', { name: 'audit', storageAccountId: 'account' });
      new StorageContainer(stack, 'Reports', { name: 'reports', storageAccountId: 'account' });
      if (policy) new StorageContainerImmutabilityPolicy(stack, 'Worm', { storageContainerResourceManagerId: container.resourceManagerId, immutabilityPeriodInDays: 30, protectedAppendWritesEnabled: policy.appends });
    };
    assert.throws(() => synth((stack) => audit(stack)), /AzureSecure-AuditImmutability: team\/Audit holds audit records without a time-based immutability policy, so they can be overwritten or deleted/);
    assert.throws(() => synth((stack) => audit(stack, { appends: true })), /AzureSecure-AuditImmutability: team\/Audit lets audit records be appended to/);
    assert.doesNotThrow(() => synth((stack) => audit(stack, { appends: false })));
  });

  it('accept function keys only with their reason, recorded beside the finding', () => {
    const agent = defineAgent(agentInput({ triggers: [{ type: 'api' }] }));
    const reason = 'Only the on-call runbook calls this agent, with a key kept in the vault.';
    const out = synth((stack) => azureAgent(stack, { agent, auth: { type: 'function-keys', reason } }));
    assert.deepEqual(out['//'][ACKNOWLEDGMENTS_KEY], [{ rule: 'AzureSecure-FunctionKeys', path: 'team/Agent/App', reason }]);
    assert.throws(() => synth((stack) => azureAgent(stack, { agent, auth: { type: 'function-keys', reason: '' } })), /agent "helper": auth: function keys name no caller/);
  });

  it('find an app that takes function keys without Entra ID in front, whoever built it', () => {
    const findings = secureDefaultFindings({ resource: { azurerm_linux_function_app: { Legacy: { app_settings: { HTTP_AUTH_LEVEL: 'function' }, '//': { metadata: { path: 'team/Legacy' } } } } } });
    assert.ok(findings.some((f) => f.rule === 'AzureSecure-FunctionKeys' && f.path === 'team/Legacy'));
  });

  it('accept a finding acknowledged with a reason on the construct or a parent, and record it in the stack', () => {
    const out = synth((stack) => {
      AzureSecureDefaults.applyTo(stack);
      AzureSecureDefaults.acknowledge(keyedAccount(stack), 'AzureSecure-StorageSharedKeys', 'A vendor appliance writes here with an account key until its next release.');
    });
    assert.deepEqual(out['//'][ACKNOWLEDGMENTS_KEY], [{ rule: 'AzureSecure-StorageSharedKeys', path: 'team/Legacy', reason: 'A vendor appliance writes here with an account key until its next release.' }]);
    const parent = synth((stack) => {
      AzureSecureDefaults.applyTo(stack);
      keyedAccount(stack);
      AzureSecureDefaults.acknowledge(stack, 'AzureSecure-StorageSharedKeys', 'Every account of this legacy stack is reached with keys until it moves.');
    });
    assert.equal(parent['//'][ACKNOWLEDGMENTS_KEY][0].path, 'team/Legacy');
  });

  it('refuse blobs the provider would upload with account keys', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'team');
    new AzurermProvider(stack, 'Azure', { features: [{}] });
    azureAgent(stack, { agent: agentInput({ triggers: [{ type: 'api' }] }) });
    assert.throws(() => Testing.synth(stack, true), /AzureSecure-StorageKeysFromProvider: team\/Skills\/Blob0 is uploaded with account keys \(the azurerm provider lacks storage_use_azuread\)/);
  });

  it('take no acknowledgment without a reason, or of a rule that does not exist', () => {
    const stack = new TerraformStack(Testing.app(), 'team');
    assert.throws(() => AzureSecureDefaults.acknowledge(stack, 'AzureSecure-StorageSharedKeys', 'because'), /team: acknowledging AzureSecure-StorageSharedKeys needs the real reason it is accepted/);
    assert.throws(() => AzureSecureDefaults.acknowledge(stack, 'AzureSecure-Nope', 'a reason long enough'), /no Azure secure-default rule is named "AzureSecure-Nope"/);
  });

  it('accept an anonymous agent only with its reason, recorded beside the finding', () => {
    const agent = defineAgent(agentInput({ triggers: [{ type: 'api' }] }));
    const reason = 'A private endpoint and a front door with its own authentication front it.';
    const out = synth((stack) => azureAgent(stack, { agent, auth: { type: 'anonymous', reason } }));
    assert.deepEqual(out['//'][ACKNOWLEDGMENTS_KEY], [{ rule: 'AzureSecure-FunctionAnonymous', path: 'team/Agent/App', reason }]);
    assert.throws(() => synth((stack) => azureAgent(stack, { agent, auth: { type: 'anonymous', reason: 'trust me' } })), /agent "helper": auth: an anonymous entry point needs the reason it is safe/);
  });
});
