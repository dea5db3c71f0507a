import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AzureAgentEvents, eventGridFilter } from '../../constructs/azure/agent-events';
import { StorageContainer } from '../../constructs/azure/engine';
import { roleAssignments, single, synthAzure } from '../__fixtures__/azure-synth';

const LOCATION = { resourceGroupName: 'agents', location: 'westeurope' };

describe('AzureAgentEvents', () => {
  const resources = synthAzure((scope) => {
    const events = new AzureAgentEvents(scope, 'Events', { name: 'agents-events', ...LOCATION, maxDeliveryAttempts: 5, eventTimeToLiveMinutes: 60 });
    events.grantPublish('principal-1', 'helper');
    events.subscribe('helper-handoffs', '/subscriptions/s/resourceGroups/agents/providers/Microsoft.Web/sites/helper', 'events', { source: ['serverless-agents'], detailType: ['handoff'] });
  });

  it('takes Entra ID publishers only, in the Event Grid schema', () => {
    const topic = single(resources, 'azurerm_eventgrid_topic');
    assert.equal(topic.local_auth_enabled, false);
    assert.equal(topic.input_schema, 'EventGridSchema');
    assert.equal(topic.identity.type, 'UserAssigned');
  });

  it('retries a subscription as configured, then dead-letters into a keyless container', () => {
    const sub = single(resources, 'azurerm_eventgrid_event_subscription');
    assert.deepEqual(sub.retry_policy, { max_delivery_attempts: 5, event_time_to_live: 60 });
    assert.equal(sub.azure_function_endpoint.function_id, '/subscriptions/s/resourceGroups/agents/providers/Microsoft.Web/sites/helper/functions/events');
    assert.deepEqual(sub.advanced_filter.string_begins_with, [{ key: 'subject', values: ['serverless-agents/'] }]);
    const account = single(resources, 'azurerm_storage_account');
    assert.equal(account.shared_access_key_enabled, false);
    assert.match(sub.storage_blob_dead_letter_destination.storage_account_id, /DeadLetterAccount_\w+\.id/);
  });

  it('lets the delivery identity write dead letters, and a publisher send to this topic only', () => {
    assert.deepEqual(
      roleAssignments(resources).map((r) => r.replace(/_[0-9A-F]{8}\b/g, '')),
      ['EventGrid Data Sender @ ${azurerm_eventgrid_topic.Events_Topic.id}', 'Storage Blob Data Contributor @ ${azurerm_storage_container.Events_DeadLetterContainer.resource_manager_id}'],
    );
  });

  it('subscribes after what it is told to wait for, such as the function app\'s trigger sync', () => {
    const r = synthAzure((scope) => {
      const events = new AzureAgentEvents(scope, 'Events', { name: 'agents-events', ...LOCATION });
      // Any resource stands in for the sync here.
      const registered = new StorageContainer(scope, 'Registered', { name: 'x', storageAccountId: 'a' });
      events.subscribe('helper-handoffs', '/subscriptions/s/resourceGroups/agents/providers/Microsoft.Web/sites/helper', 'events', { detailType: ['handoff'] }, [registered]);
    });
    assert.deepEqual(single(r, 'azurerm_eventgrid_event_subscription').depends_on, ['azurerm_storage_container.Registered']);
    assert.equal(single(resources, 'azurerm_eventgrid_event_subscription').depends_on, undefined);
  });

  it('refuses retry settings Event Grid does not allow, and patterns it cannot filter on', () => {
    assert.throws(() => synthAzure((s) => new AzureAgentEvents(s, 'E', { name: 'e', ...LOCATION, maxDeliveryAttempts: 31 })), /AzureAgentEvents stack\/E: maxDeliveryAttempts must be 1-30, got 31/);
    assert.throws(() => eventGridFilter({ detail: { amount: [{ numeric: ['>', 100] }] } }), /pattern\.detail\.amount: Event Grid matches data fields against lists of strings only/);
  });
});
