import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import type { AzureRuntime } from './runtime';

/**
 * The agent and its clients, built with the first invocation and kept for the instance's life: the
 * Azure SDKs load then, not at start, since registering functions or starting a host needs none of
 * them. A build that fails is tried again with the next invocation.
 */
export function lazyAzureRuntime(config: AgentRuntimeConfig): () => Promise<AzureRuntime> {
  let runtime: Promise<AzureRuntime> | undefined;
  return () =>
    (runtime ??= import('./runtime.js')
      .then(({ buildAzureRuntime }) => buildAzureRuntime(config))
      .catch((e) => ((runtime = undefined), Promise.reject(e))));
}
