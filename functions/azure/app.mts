import { app, output } from '@azure/functions';
import { loadConfig } from '../entry/config.js';
import type { DurableClientCalls, DurableHost } from './durable-app.js';
import { registerAgent } from './register.js';
import type { AzureRuntime } from './runtime.js';

/**
 * The Function App entry point of every agent on Azure: reads the agent's config from its app
 * settings and registers the functions its triggers need. The agent and its clients are built with
 * the first invocation and kept for the instance's life.
 */
const config = loadConfig();
let runtime: Promise<AzureRuntime> | undefined;
// The Azure SDKs load with the first invocation, not at start: registration needs none of them.
const getRuntime = () =>
  (runtime ??= import('./runtime.js')
    .then(({ buildAzureRuntime }) => buildAzureRuntime(config))
    .catch((e) => ((runtime = undefined), Promise.reject(e))));

// A durable agent registers its orchestrator, activity and durable client bindings as well; only a
// durable agent loads durable-functions (and its dependencies), before it registers anything.
const df = config.definition.durable ? await import('durable-functions') : undefined;
const durable: DurableHost | undefined = df
  ? {
      orchestration: (name, handler) => df.app.orchestration(name, handler as never),
      activity: (name, options) => df.app.activity(name, options as never),
      client: () => df.input.durableClient(),
      getClient: (context) => df.getClient(context) as unknown as DurableClientCalls,
    }
  : undefined;

registerAgent(app, output, config, getRuntime, process.env, durable);
