import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { BlobSkillStore } from '../../functions/azure/blob-skill-store';
import { managedIdentityClients } from '../../functions/azure/runtime';
import { AgentSkills } from '../../functions/core/skills/skills';
import { CachedSkillStore } from '../../functions/core/skills/store';
import { SKILLS } from '../helpers';
import { startAzurite, uploadSkills, type Azurite } from '../__fixtures__/azurite';

let azurite: Azurite;
let container: ContainerClient;

before(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('skills');
  await container.create();
  // What the AzureSkillStore deploys: every skill file and the index.
  await uploadSkills(container, SKILLS);
});

after(async () => azurite?.stop());

describe('the Blob skill store, against Azurite', () => {
  it('serves the catalog, a skill body and its files through the real Blob client', async () => {
    const skills = await AgentSkills.open(new BlobSkillStore(container), ['refund-requests']);
    assert.match(skills.catalog(), /refund-requests: Decide whether a refund request is eligible/);
    assert.match(await skills.load('refund-requests'), /^# Refund requests/);
    assert.match(await skills.readFile('refund-requests', 'references/policy.md'), /Chargeback open/);
  });

  it('answers undefined for a missing blob, which the skills turn into a clear error', async () => {
    const store = new BlobSkillStore(container);
    assert.equal(await store.read('nope/SKILL.md'), undefined);
    const skills = await AgentSkills.open(store, []);
    await assert.rejects(skills.load('ticket-triage'), /"ticket-triage" is not one of your skills/);
  });

  it('is read once per warm environment through the cache', async () => {
    let reads = 0;
    const inner = new BlobSkillStore(container);
    const cached = new CachedSkillStore({ read: (path) => ((reads += 1), inner.read(path)) });
    await AgentSkills.open(cached, ['ticket-triage']);
    await AgentSkills.open(cached, ['ticket-triage']);
    assert.equal(reads, 1);
  });

  it('builds the production client with the managed identity, never an account key', () => {
    const client = managedIdentityClients({ AZURE_CLIENT_ID: '11111111-1111-1111-1111-111111111111' }).container(azurite.blobUrl, 'skills');
    assert.equal(client.containerName, 'skills');
    assert.equal(client.credential.constructor.name, 'ManagedIdentityCredential');
  });
});
