import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import { assignRole } from './defaults';
import { MonitorMetricAlert, type TerraformResource, ServicebusNamespace, ServicebusQueue } from './engine';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureServiceBusProps {
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
}

/**
 * The Service Bus namespace agent queues live in: Standard tier (duplicate detection needs it),
 * TLS 1.2, and no shared access keys, so every sender and receiver is an Entra ID identity with a role.
 */
export class AzureServiceBus extends Construct {
  readonly namespace: ServicebusNamespace;

  constructor(scope: Construct, id: string, props: AzureServiceBusProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    this.namespace = new ServicebusNamespace(this, 'Namespace', {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: 'Standard',
      minimumTlsVersion: '1.2',
      localAuthEnabled: false,
    });
  }
}

export interface AzureAgentQueueProps {
  readonly bus: AzureServiceBus;
  /** The agent the queue feeds; names the queue. */
  readonly agent: string;
  /** The agent's run timeout: a message stays locked at least this long (Service Bus allows 5 minutes at most). */
  readonly timeoutSeconds: number;
  /**
   * Deliveries of a message before Service Bus dead-letters it.
   * @default 3
   */
  readonly maxDeliveryCount?: number;
  /**
   * Where the dead-letter alert notifies.
   * @default no action group: the alert is visible in Azure Monitor only
   */
  readonly actionGroupId?: string;
}

/**
 * One agent's Service Bus queue: a message that keeps failing or expires is dead-lettered, never
 * dropped; duplicates within ten minutes are discarded; an alert fires on the first dead-lettered
 * message. The agent's identity may receive and nothing else.
 */
export class AzureAgentQueue extends Construct {
  readonly namespace: ServicebusNamespace;
  readonly queue: ServicebusQueue;
  /** Deliveries of a message before Service Bus dead-letters it. */
  readonly maxDeliveryCount: number;
  readonly deadLetterAlert: MonitorMetricAlert;

  constructor(scope: Construct, id: string, props: AzureAgentQueueProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const maxDeliveryCount = (this.maxDeliveryCount = props.maxDeliveryCount ?? 3);
    if (maxDeliveryCount < 1 || maxDeliveryCount > 2000) throw new Error(`AzureAgentQueue ${this.node.path}: maxDeliveryCount must be 1-2000, got ${maxDeliveryCount}`);
    const namespace = (this.namespace = props.bus.namespace);
    this.queue = new ServicebusQueue(this, 'Queue', {
      name: props.agent,
      namespaceId: namespace.id,
      maxDeliveryCount,
      lockDuration: `PT${Math.min(300, Math.max(30, props.timeoutSeconds))}S`,
      defaultMessageTtl: 'P4D',
      deadLetteringOnMessageExpiration: true,
      requiresDuplicateDetection: true,
      duplicateDetectionHistoryTimeWindow: 'PT10M',
    });
    this.deadLetterAlert = new MonitorMetricAlert(this, 'DeadLetterAlert', {
      name: `${props.agent}-dead-letters`,
      resourceGroupName: namespace.resourceGroupName,
      scopes: [namespace.id],
      description: `Messages for agent ${props.agent} were dead-lettered`,
      severity: 2,
      frequency: 'PT1M',
      windowSize: 'PT5M',
      criteria: [
        {
          metricNamespace: 'Microsoft.ServiceBus/namespaces',
          metricName: 'DeadletteredMessages',
          aggregation: 'Maximum',
          operator: 'GreaterThan',
          threshold: 0,
          dimension: [{ name: 'EntityName', operator: 'Include', values: [props.agent] }],
        },
      ],
      ...(props.actionGroupId && { action: [{ actionGroupId: props.actionGroupId }] }),
    });
  }

  /** Lets an identity receive (and complete, abandon, dead-letter) from this queue only. */
  grantReceive(principal: AzurePrincipal, id: string): TerraformResource {
    return assignRole(this, `Receiver-${id}`, this.queue.id, 'Azure Service Bus Data Receiver', principal);
  }

  /** Lets an identity send to this queue only: the agent's job route, or Event Grid delivering its team's tasks. */
  grantSend(principal: AzurePrincipal, id: string): TerraformResource {
    return assignRole(this, `Sender-${id}`, this.queue.id, 'Azure Service Bus Data Sender', principal);
  }
}
