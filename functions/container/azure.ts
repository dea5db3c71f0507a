import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver, type ServiceBusSender } from '@azure/service-bus';
import { ManagedIdentityCredential } from '@azure/identity';
import type { FunctionOutput, InvocationContext } from '@azure/functions';
import { AZURE_RUNTIME_ENV, CONTAINER_ENV } from '../../contract/config/settings';
import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { agentHandlers } from '../azure/handlers';
import type { AzureRuntime } from '../azure/runtime';
import type { QueueSource, Settlement } from './host';
import { containerSetting } from './start';

/**
 * The container host's Azure side: the agent's Service Bus queue, read with the container app's
 * user-assigned identity (no connection string), each message run by the same queue handler the
 * Function App runs, so its life cycle, retries and dead-lettering are the function's.
 */

const ENV = AZURE_RUNTIME_ENV;

/** The part of the Service Bus SDK the host uses; tests pass a recording stand-in. */
export interface ServiceBusQueue {
  readonly receiver: Pick<ServiceBusReceiver, 'receiveMessages' | 'completeMessage' | 'abandonMessage' | 'close'>;
  readonly sender: Pick<ServiceBusSender, 'sendMessages' | 'close'>;
}

export interface ServiceBusQueueSourceOptions {
  /** How long one receive waits for a message. @default 20 s */
  readonly waitSeconds?: number;
  readonly log?: (line: string) => void;
}

export class ServiceBusQueueSource implements QueueSource<ServiceBusReceivedMessage> {
  private handlers?: ReturnType<typeof agentHandlers>;

  constructor(
    private readonly queue: ServiceBusQueue,
    private readonly config: AgentRuntimeConfig,
    private readonly getRuntime: () => Promise<AzureRuntime>,
    private readonly options: ServiceBusQueueSourceOptions & { readonly maxDeliveries?: number } = {},
  ) {}

  receive(max: number): Promise<ServiceBusReceivedMessage[]> {
    return this.queue.receiver.receiveMessages(max, { maxWaitTimeInMs: (this.options.waitSeconds ?? 20) * 1000 });
  }

  run(message: ServiceBusReceivedMessage, stop: AbortSignal): Promise<unknown> {
    // The queue handler takes one stop signal for its life: the host's, the same for every run.
    this.handlers ??= agentHandlers(this.config, this.getRuntime, NO_OUTPUT, { ...(this.options.maxDeliveries && { maxDeliveries: this.options.maxDeliveries }), stop });
    const log = this.options.log ?? ((line: string) => console.error(line));
    // What the Functions host hands the queue handler: the body, and the delivery's metadata.
    const context = { invocationId: String(message.messageId ?? ''), triggerMetadata: { deliveryCount: message.deliveryCount ?? 1, messageId: message.messageId }, error: log, log, warn: log } as unknown as InvocationContext;
    return this.handlers.queueMessage(bodyOf(message.body), context);
  }

  async settle(message: ServiceBusReceivedMessage, how: Settlement): Promise<void> {
    if (how === 'retry') return this.queue.receiver.abandonMessage(message);
    if (how === 'hand-back') {
      // A copy first, under a new message id (duplicate detection would drop the same one), then
      // the original: a crash between the two leaves a duplicate, which runs once.
      await this.queue.sender.sendMessages({
        body: message.body,
        ...(message.contentType && { contentType: message.contentType }),
        ...(message.subject && { subject: message.subject }),
        ...(message.correlationId && { correlationId: message.correlationId }),
        ...(message.applicationProperties && { applicationProperties: message.applicationProperties }),
      });
    }
    await this.queue.receiver.completeMessage(message);
  }

  id(message: ServiceBusReceivedMessage): string {
    return String(message.messageId ?? '(no id)');
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.receiver.close(), this.queue.sender.close()]);
  }
}

/** The queue handler never writes the job output binding: that is the job route's, which a container has not. */
const NO_OUTPUT = { type: 'serviceBus', name: 'unused' } as unknown as FunctionOutput;

/** A body as the Functions binding hands it over: bytes (Event Grid's deliveries) as text. */
function bodyOf(body: unknown): unknown {
  return body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : body;
}

/**
 * The agent's queue through the container's identity, from the same settings its Function App
 * would have (the Service Bus connection's namespace, the queue, its max delivery count), when
 * the agent has one.
 */
export function azureQueue(config: AgentRuntimeConfig, getRuntime: () => Promise<AzureRuntime>, env: NodeJS.ProcessEnv = process.env): ServiceBusQueueSource | undefined {
  const namespace = env[`${ENV.serviceBusConnection}__fullyQualifiedNamespace`];
  const queue = env[ENV.queue];
  if (!namespace || !queue) return undefined;
  const clientId = env[ENV.identityClientId];
  const client = new ServiceBusClient(namespace, clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential());
  const maxDeliveries = Number(env[ENV.queueMaxDeliveries]) || undefined;
  const wait = containerSetting(CONTAINER_ENV.queueWaitSeconds, env);
  return new ServiceBusQueueSource(
    {
      // The lock is renewed while the run goes on, for as long as a run may last.
      receiver: client.createReceiver(queue, { receiveMode: 'peekLock', maxAutoLockRenewalDurationInMs: (config.definition.limits.timeoutSeconds + 120) * 1000 }),
      sender: client.createSender(queue),
    },
    config,
    getRuntime,
    { ...(maxDeliveries && { maxDeliveries }), ...(wait !== undefined && { waitSeconds: wait }) },
  );
}
