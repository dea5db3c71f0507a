import type { ModelTargetConfig } from '../../../contract/config/runtime-config';
import type { ProviderFactory } from './router';
import type { ModelProvider } from './types';

type Provider = ModelTargetConfig['provider'];

/**
 * Builds the provider for one kind of target, loading its SDK only when called. `secret` reads an
 * API key by name from the cloud's secret store.
 */
export type ProviderLoader<P extends Provider = Provider> = (target: Extract<ModelTargetConfig, { provider: P }>, secret: (name: string) => Promise<string>) => Promise<ModelProvider>;

export type ProviderLoaders = { readonly [P in Provider]?: ProviderLoader<P> };

/**
 * The providers any cloud can call: the Anthropic API and OpenAI-compatible endpoints (Azure
 * OpenAI's v1 API among them). A cloud adds its own, such as Bedrock on AWS, from its adapters.
 */
export const PORTABLE_PROVIDERS: ProviderLoaders = {
  anthropic: async (target, secret) => {
    const [{ AnthropicProvider }, apiKey] = await Promise.all([import('./anthropic.js'), secret(target.apiKeySecret)]);
    return new AnthropicProvider({ model: target.model, apiKey });
  },
  'openai-compatible': async (target, secret) => {
    const [{ OpenAiCompatibleProvider }, apiKey] = await Promise.all([import('./openai.js'), target.apiKeySecret ? secret(target.apiKeySecret) : undefined]);
    return new OpenAiCompatibleProvider({ model: target.model, baseUrl: target.baseUrl, ...(apiKey && { apiKey }) });
  },
};

/**
 * Builds providers on first use from the loaders a cloud hands over, importing only the SDK the
 * target needs: an agent on Bedrock never loads the Anthropic SDK, which keeps cold starts short.
 * Endpoints come from each SDK's own settings (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`,
 * `ANTHROPIC_BASE_URL`), which is how tests and local runs point them at loopback fakes.
 */
export function providerFactory(loaders: ProviderLoaders, secret: (name: string) => Promise<string>): ProviderFactory {
  return async (target: ModelTargetConfig): Promise<ModelProvider> => {
    const load = loaders[target.provider] as ProviderLoader | undefined;
    if (!load) throw new Error(`model provider "${target.provider}" is not available here (available: ${Object.keys(loaders).join(', ')})`);
    return load(target, secret);
  };
}
