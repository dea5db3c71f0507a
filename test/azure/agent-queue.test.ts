import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AzureAgentQueue, AzureServiceBus } from '../../constructs/azure/agent-queue';
import { Testing } from '../../constructs/azure/engine';

type Resources = Record<string, Record<string, Record<string, any>>>;

function synth(props: Partial<ConstructorParameters<typeof AzureAgentQueue>[2]> = {}): Resources {
  return (
    JSON.parse(
      Testing.synthScope((scope) => {
        const bus = new AzureServiceBus(scope, 'Bus', { name: 'agents-sb', resourceGroupName: 'agents', location: 'westeurope' });
        const queue = new AzureAgentQueue(scope, 'Support', { bus, agent: 'support', timeoutSeconds: 120, ...props });
        queue.grantReceive('00000000-0000-0000-0000-000000000002', 'support');
      }),
    ) as { resource: Resources }
  ).resource;
}

describe('AzureAgentQueue', () => {
  it('lives in a Standard namespace that takes no shared access keys', () => {
    const [namespace] = Object.values(synth().azurerm_servicebus_namespace!);
    assert.equal(namespace!.sku, 'Standard');
    assert.equal(namespace!.local_auth_enabled, false);
    assert.equal(namespace!.minimum_tls_version, '1.2');
  });

  it('dead-letters on the last delivery and on expiry, and discards duplicates', () => {
    const [queue] = Object.values(synth().azurerm_servicebus_queue!);
    assert.equal(queue!.name, 'support');
    assert.equal(queue!.max_delivery_count, 3);
    assert.equal(queue!.dead_lettering_on_message_expiration, true);
    assert.equal(queue!.requires_duplicate_detection, true);
    assert.equal(queue!.duplicate_detection_history_time_window, 'PT10M');
    assert.equal(queue!.lock_duration, 'PT120S');
  });

  it('alerts on the first dead-lettered message of this queue', () => {
    const [alert] = Object.values(synth({ actionGroupId: '/subscriptions/x/resourceGroups/agents/providers/microsoft.insights/actionGroups/oncall' }).azurerm_monitor_metric_alert!);
    const [criteria] = alert!.criteria;
    assert.equal(criteria.metric_name, 'DeadletteredMessages');
    assert.equal(criteria.operator, 'GreaterThan');
    assert.equal(criteria.threshold, 0);
    assert.deepEqual(criteria.dimension, [{ name: 'EntityName', operator: 'Include', values: ['support'] }]);
    assert.match(alert!.action[0].action_group_id, /actionGroups\/oncall$/);
  });

  it('lets the agent identity receive from its own queue only', () => {
    const [assignment] = Object.values(synth().azurerm_role_assignment!);
    assert.equal(assignment!.role_definition_name, 'Azure Service Bus Data Receiver');
    assert.match(assignment!.scope, /^\$\{azurerm_servicebus_queue\.[A-Za-z0-9_]+\.id\}$/);
  });

  it('fails synth on a delivery count Service Bus refuses, naming the queue', () => {
    assert.throws(() => synth({ maxDeliveryCount: 0 }), /AzureAgentQueue .*Support: maxDeliveryCount must be 1-2000, got 0/);
  });
});
