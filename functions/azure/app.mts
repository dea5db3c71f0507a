import { app, output } from '@azure/functions';
import { loadConfig } from '../entry/config.js';
import type { DurableClientCalls, DurableHost } from './durable-app.js';
import { registerAgent } from './register.js';
import { lazyAzureRuntime } from './lazy-runtime.js';

/**
 * The Function App entry point of every agent on Azure: reads the agent's config from its app
 * settings and registers the functions its triggers need. The agent and its clients are built with
 * the first invocation and kept for the instance's life.
 */
const config = loadConfig();
const getRuntime = lazyAzureRuntime(config);

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
