import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import type { AgentTrigger } from '../../contract/definition/schema';
import { subjectPrefix } from '../../contract/events/agent-events';
import type { AzureAgentQueue } from './agent-queue';
import { assignRole, privateStorageAccount, storageAccountName } from './defaults';
import { recordSubscription } from './quotas';
import { EventgridEventSubscription, EventgridTopic, TerraformStack, type ITerraformDependable, type RoleAssignment, type TerraformResource, StorageContainer, UserAssignedIdentity, type StorageAccount } from './engine';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureAgentEventsProps {
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * Deliveries of an event before it is dead-lettered.
   * @default 10
   */
  readonly maxDeliveryAttempts?: number;
  /**
   * Minutes an event is retried before it is dead-lettered.
   * @default 1440 (one day)
   */
  readonly eventTimeToLiveMinutes?: number;
}

type EventPattern = Extract<AgentTrigger, { type: 'event' }>['pattern'];

/**
 * The Azure counterpart of the AgentBus: an Event Grid topic agents publish run.completed,
 * run.failed and handoff events to (Entra ID only, no access keys), and subscriptions that deliver
 * matching events to agents with retries, then to a dead-letter container instead of dropping them.
 * A team's jobs and hand-offs travel on it too, to each target's queue.
 */
export class AzureAgentEvents extends Construct {
  readonly topic: EventgridTopic;
  /** The identity Event Grid writes dead-lettered events with. */
  readonly deliveryIdentity: UserAssignedIdentity;
  readonly deadLetters: { readonly account: StorageAccount; readonly container: StorageContainer };
  private readonly retry: { maxDeliveryAttempts: number; eventTimeToLive: number };

  /** Deliveries of an event before it is dead-lettered. */
  get maxDeliveryAttempts(): number {
    return this.retry.maxDeliveryAttempts;
  }

  constructor(scope: Construct, id: string, props: AzureAgentEventsProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const maxDeliveryAttempts = props.maxDeliveryAttempts ?? 10;
    const eventTimeToLive = props.eventTimeToLiveMinutes ?? 1440;
    if (maxDeliveryAttempts < 1 || maxDeliveryAttempts > 30) throw new Error(`AzureAgentEvents ${this.node.path}: maxDeliveryAttempts must be 1-30, got ${maxDeliveryAttempts}`);
    if (eventTimeToLive < 1 || eventTimeToLive > 1440) throw new Error(`AzureAgentEvents ${this.node.path}: eventTimeToLiveMinutes must be 1-1440, got ${eventTimeToLive}`);
    this.retry = { maxDeliveryAttempts, eventTimeToLive };
    const location = { resourceGroupName: props.resourceGroupName, location: props.location };
    this.deliveryIdentity = new UserAssignedIdentity(this, 'DeliveryIdentity', { name: `${props.name}-delivery`, ...location });
    this.topic = new EventgridTopic(this, 'Topic', {
      name: props.name,
      ...location,
      inputSchema: 'EventGridSchema',
      localAuthEnabled: false,
      identity: { type: 'UserAssigned', identityIds: [this.deliveryIdentity.id] },
    });
    const account = privateStorageAccount(this, 'DeadLetterAccount', { name: storageAccountName(this, 'deadletters'), ...location });
    const container = new StorageContainer(this, 'DeadLetterContainer', { name: 'dead-letters', storageAccountId: account.id, containerAccessType: 'private' });
    this.deadLetters = { account, container };
    assignRole(this, 'DeadLetterWriter', container.resourceManagerId, 'Storage Blob Data Contributor', this.deliveryIdentity.principalId);
  }

  /** Lets an identity publish events to this topic only. */
  grantPublish(principal: AzurePrincipal, id: string): TerraformResource {
    return assignRole(this, `Publisher-${id}`, this.topic.id, 'EventGrid Data Sender', principal);
  }

  /**
   * Delivers the events matching an agent's `event` trigger to its Function App's Event Grid
   * function. Event Grid authenticates to the function with its system key, never anonymously.
   * Event Grid refuses a subscription to a function the app's host has not registered yet
   * ("Destination endpoint not found"), so pass what registers it (AzureAgentFunction's trigger
   * sync) as `after`.
   */
  subscribe(id: string, functionAppId: string, functionName: string, pattern: EventPattern, after: readonly ITerraformDependable[] = [], owner?: Construct): EventgridEventSubscription {
    const subscription = new EventgridEventSubscription(...this.declaredBeside(owner, id), {
      ...(after.length && { dependsOn: [...after] }),
      ...this.delivery(id),
      azureFunctionEndpoint: { functionId: `${functionAppId}/functions/${functionName}`, maxEventsPerBatch: 1 },
      ...eventGridFilter(pattern),
    });
    return recordSubscription(subscription, this);
  }

  /**
   * Delivers the events of `eventTypes` (the tasks an agent receives: `handoff.to.NAME`,
   * `delegation.to.NAME`) to its Service Bus queue, as the topic's delivery identity, which may
   * send to that queue and no other. Service Bus then retries and dead-letters each task as it does
   * a job; Event Grid retries a delivery the queue refuses, then dead-letters it to the container.
   */
  deliverToQueue(id: string, queue: AzureAgentQueue, eventTypes: readonly string[]): EventgridEventSubscription {
    if (!eventTypes.length) throw new Error(`AzureAgentEvents ${this.node.path}: subscription ${id} must name the event types it delivers`);
    return this.queueSubscription(id, queue, { includedEventTypes: [...eventTypes] });
  }

  /**
   * Delivers the events matching an agent's `event` trigger to its Service Bus queue, for an agent
   * that takes its work there (a container agent), with the same retries and dead-lettering.
   */
  deliverMatchingToQueue(id: string, queue: AzureAgentQueue, pattern: EventPattern): EventgridEventSubscription {
    return this.queueSubscription(id, queue, eventGridFilter(pattern));
  }

  /** What every subscription of the topic shares: its name, the schema, retries, and dead letters to the container. */
  private delivery(id: string) {
    return {
      name: id.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 64),
      scope: this.topic.id,
      eventDeliverySchema: 'EventGridSchema',
      retryPolicy: this.retry,
      deadLetterIdentity: { type: 'UserAssigned', userAssignedIdentity: this.deliveryIdentity.id },
      storageBlobDeadLetterDestination: { storageAccountId: this.deadLetters.account.id, storageBlobContainerName: this.deadLetters.container.name },
    };
  }

  /**
   * Where a subscription with `id` is declared: here, or beside `owner` (what it delivers to) when
   * that is in another stack, so the topic's stack never refers to the agents' stacks.
   */
  private declaredBeside(owner: Construct | undefined, id: string): [Construct, string] {
    return owner && TerraformStack.of(owner) !== TerraformStack.of(this) ? [owner, `Subscription-${id}`] : [this, id];
  }

  /**
   * A subscription delivering to `queue` as the topic's delivery identity, which may send to that
   * queue (one role, however many subscriptions feed it) and no other.
   */
  private queueSubscription(id: string, queue: AzureAgentQueue, filter: ReturnType<typeof eventGridFilter>): EventgridEventSubscription {
    const sender = (queue.node.tryFindChild('Sender-EventDelivery') as RoleAssignment | undefined) ?? queue.grantSend(this.deliveryIdentity.principalId, 'EventDelivery');
    return recordSubscription(new EventgridEventSubscription(...this.declaredBeside(queue, id), {
      dependsOn: [sender],
      ...this.delivery(id),
      serviceBusQueueEndpointId: queue.queue.id,
      deliveryIdentity: { type: 'UserAssigned', userAssignedIdentity: this.deliveryIdentity.id },
      ...filter,
    }), this);
  }
}

/**
 * An agent trigger's event pattern as Event Grid filters: `detailType` is the event type, `source`
 * the start of the subject (agents publish `serverless-agents/agents/NAME/runs/ID`), and each
 * `detail` field a match on the event's data. Patterns Event Grid cannot express fail synth.
 */
export function eventGridFilter(pattern: EventPattern): { includedEventTypes?: string[]; advancedFilter?: { stringBeginsWith?: { key: string; values: string[] }[]; stringIn?: { key: string; values: string[] }[] } } {
  const stringIn = Object.entries(pattern.detail ?? {}).map(([key, values]) => {
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      throw new Error(`pattern.detail.${key}: Event Grid matches data fields against lists of strings only`);
    }
    return { key: `data.${key}`, values: values as string[] };
  });
  const stringBeginsWith = pattern.source ? [{ key: 'subject', values: pattern.source.map(subjectPrefix) }] : [];
  return {
    ...(pattern.detailType && { includedEventTypes: [...pattern.detailType] }),
    ...((stringIn.length || stringBeginsWith.length) && { advancedFilter: { ...(stringBeginsWith.length && { stringBeginsWith }), ...(stringIn.length && { stringIn }) } }),
  };
}
