import { AZURE_RUNTIME_ENV } from '../../contract/config/settings.js';
import { loadConfig } from '../entry/config.js';
import { queueWaitSeconds, serviceBusQueue, ServiceBusQueueSource } from './azure.js';
import { startContainer } from './start.js';

/**
 * The container entry of every agent on Azure Container Apps: it consumes the agent's Service Bus
 * queue with the app's identity, and answers `GET /ping` for the platform's probes.
 */
const config = loadConfig();
const getRuntime = () => import('../azure/runtime.js').then(({ buildAzureRuntime }) => buildAzureRuntime(config));
let runtime: ReturnType<typeof getRuntime> | undefined;
const queue = serviceBusQueue(config.definition.limits.timeoutSeconds);
const maxDeliveries = Number(process.env[AZURE_RUNTIME_ENV.queueMaxDeliveries]) || undefined;
const wait = queueWaitSeconds();
await startContainer({
  ...(queue && {
    queue: new ServiceBusQueueSource(queue, config, () => (runtime ??= getRuntime().catch((e) => ((runtime = undefined), Promise.reject(e)))), {
      ...(maxDeliveries && { maxDeliveries }),
      ...(wait !== undefined && { waitSeconds: wait }),
    }),
  }),
});
