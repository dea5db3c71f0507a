import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { runtimeBundleDir } from '../../constructs/bundle/runtime-bundle';
import { AzureRuntimePackage } from '../../constructs/azure/runtime-package';
import { AGENT_CONFIG_ENV, encodeAgentConfig } from '../../contract/config/runtime-config';
import { defineAgent } from '../../contract/definition';
import { exampleAgent } from '../../stacks/single-agent/example-agent';
import { roleAssignments, single, synthAzure } from '../__fixtures__/azure-synth';

const run = promisify(execFile);

describe('the Azure runtime package', () => {
  it('is a Functions app folder: an ES module entry, the host settings with the extension bundle', () => {
    const dir = runtimeBundleDir('azure');
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')), { name: 'serverless-agents-runtime', type: 'module', main: 'index.mjs' });
    const host = JSON.parse(readFileSync(join(dir, 'host.json'), 'utf8'));
    assert.equal(host.version, '2.0');
    assert.equal(host.extensionBundle.id, 'Microsoft.Azure.Functions.ExtensionBundle');
  });

  it('loads in plain Node with an agent config and registers the functions its triggers need', async () => {
    const config = encodeAgentConfig({ definition: defineAgent(exampleAgent()), route: [{ provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'anthropic-api-key' }] });
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(join(runtimeBundleDir('azure'), 'index.mjs'))}); console.log('LOADED')`], {
      env: { PATH: process.env.PATH, [AGENT_CONFIG_ENV]: config },
    });
    assert.match(stdout, /LOADED/);
    // Outside the host, @azure/functions says what it would have registered.
    const registered = [...(stdout + stderr).matchAll(/register function "([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(registered, ['invoke', 'submit-job', 'job-status', 'queue', 'schedule_0']);
  });

  it('is uploaded once per stack to a keyless account, readable by the apps that run it', () => {
    const resources = synthAzure((scope) => new AzureRuntimePackage(scope, 'Runtime', { resourceGroupName: 'agents', location: 'westeurope' }).grantRead('principal-1', 'helper'));
    const blob = single(resources, 'azurerm_storage_blob');
    assert.match(blob.name, /^runtime-[0-9A-F]{16}\.zip$/);
    assert.equal(blob.content_type, 'application/zip');
    assert.equal(single(resources, 'azurerm_storage_account').shared_access_key_enabled, false);
    assert.equal(single(resources, 'azurerm_storage_container').container_access_type, 'private');
    assert.deepEqual(roleAssignments(resources).map((r) => r.replace(/_[0-9A-F]{8}\b/g, '')), [
      // The deployer uploads the zip; the apps only read it.
      'Storage Blob Data Contributor @ ${azurerm_storage_container.Runtime_Container.resource_manager_id}',
      'Storage Blob Data Reader @ ${azurerm_storage_container.Runtime_Container.resource_manager_id}',
    ]);
    assert.equal(blob.lifecycle.create_before_destroy, true, 'apps move to a new zip before the old one goes');
    // Uploaded once the deployer's role has reached the storage account.
    const sleep = single(resources, 'time_sleep');
    assert.match(blob.depends_on[0], /^time_sleep\.Runtime_DeployerUploadsPropagated_\w+$/);
    assert.match(Object.values(sleep.triggers)[0] as string, /^\$\{azurerm_role_assignment\.Runtime_DeployerUploads_\w+\.id\}$/);
  });
});
