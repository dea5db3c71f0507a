import { loadConfig } from '../entry/config.js';
import { lazyAzureRuntime } from '../azure/lazy-runtime.js';
import { azureQueue } from './azure.js';
import { startContainer } from './start.js';

/**
 * The container entry of every agent on Azure: it consumes the agent's Service Bus queue with the
 * app's identity, and answers `GET /ping` for the platform's probes.
 */
const config = loadConfig();
const queue = azureQueue(config, lazyAzureRuntime(config));
await startContainer(queue ? { queue } : {});
