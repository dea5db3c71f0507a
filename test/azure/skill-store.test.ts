import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AzureSkillStore } from '../../constructs/azure/skill-store';
import { Testing } from '../../constructs/azure/engine';
import { readSkillsFolder } from '../../contract/skills/catalog';
import { SKILLS, skillFile, skillsFolder } from '../helpers';

type Resources = Record<string, Record<string, Record<string, any>>>;

function synth(path = SKILLS, grant = true): Resources {
  const json = Testing.synthScope((scope) => {
    const store = new AzureSkillStore(scope, 'Skills', { path, resourceGroupName: 'agents', location: 'westeurope' });
    if (grant) store.grantRead('00000000-0000-0000-0000-000000000001', 'support');
  });
  return (JSON.parse(json) as { resource: Resources }).resource;
}

describe('AzureSkillStore', () => {
  it('takes no shared keys, serves no public blob, and requires TLS 1.2', () => {
    const [account] = Object.values(synth().azurerm_storage_account!);
    assert.equal(account!.shared_access_key_enabled, false);
    assert.equal(account!.allow_nested_items_to_be_public, false);
    assert.equal(account!.default_to_oauth_authentication, true);
    assert.equal(account!.min_tls_version, 'TLS1_2');
    assert.equal(account!.https_traffic_only_enabled, true);
    assert.equal(account!.blob_properties.versioning_enabled, true);
    const [container] = Object.values(synth().azurerm_storage_container!);
    assert.equal(container!.container_access_type, 'private');
  });

  it('uploads every skill file and the same index the AWS SkillBucket publishes', () => {
    const blobs = Object.values(synth().azurerm_storage_blob!);
    const names = blobs.map((b) => b.name).sort();
    assert.deepEqual(names, ['index.json', 'refund-requests/SKILL.md', 'refund-requests/references/policy.md', 'ticket-triage/SKILL.md', 'ticket-triage/references/severity-matrix.md', 'troubleshooting/SKILL.md', 'troubleshooting/references/checks.md']);
    const index = blobs.find((b) => b.name === 'index.json')!;
    assert.deepEqual(JSON.parse(index.source_content), readSkillsFolder(SKILLS));
    assert.match(blobs.find((b) => b.name === 'ticket-triage/SKILL.md')!.source_content, /^---\nname: ticket-triage/);
  });

  it('uploads only once the deploying identity\'s role on the container has taken effect', () => {
    const resources = synth();
    const [sleepId, sleep] = Object.entries(resources.time_sleep!)[0]!;
    assert.equal(Object.keys(resources.time_sleep!).length, 1, 'one wait for the store, not one per blob');
    const [uploadsId] = Object.entries(resources.azurerm_role_assignment!).find(([, a]) => a.role_definition_name === 'Storage Blob Data Contributor')!;
    assert.deepEqual(Object.values(sleep.triggers), [`\${azurerm_role_assignment.${uploadsId}.id}`]);
    for (const blob of Object.values(resources.azurerm_storage_blob!)) assert.deepEqual(blob.depends_on, [`time_sleep.${sleepId}`]);
  });

  it('grants an identity Storage Blob Data Reader on the skills container only', () => {
    const assignment = Object.values(synth().azurerm_role_assignment!).find((a) => a.role_definition_name === 'Storage Blob Data Reader');
    assert.equal(assignment!.role_definition_name, 'Storage Blob Data Reader');
    assert.equal(assignment!.principal_id, '00000000-0000-0000-0000-000000000001');
    assert.match(assignment!.scope, /^\$\{azurerm_storage_container\.[A-Za-z0-9_]+\.resource_manager_id\}$/);
  });

  it('fails synth on a broken skill, naming the file', () => {
    assert.throws(() => synth(skillsFolder({ 'a/SKILL.md': skillFile('b') }), false), /skill \S+\/a\/SKILL\.md: name: "b" must match its folder name "a"/);
  });
});
