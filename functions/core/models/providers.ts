import type { ModelTargetConfig } from '../../../contract/config/runtime-config';
import type { ProviderFactory } from './router';
import type { ModelProvider } from './types';

/** Where providers get what the target config only names. */
export interface ProviderContext {
  /** The region Bedrock is called in. */
  readonly region: string;
  /** A secret's value by name, from the cloud's secret store. */
  secret(name: string): Promise<string>;
}

/**
 * Builds providers on first use, importing only the SDK the target needs: an agent on Bedrock never
 * loads the Anthropic SDK, which keeps cold starts short. Endpoints come from each SDK's own
 * settings (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `ANTHROPIC_BASE_URL`), which is how tests and local
 * runs point them at loopback fakes.
 */
export function providerFactory(context: ProviderContext): ProviderFactory {
  return async (target: ModelTargetConfig): Promise<ModelProvider> => {
    switch (target.provider) {
      case 'bedrock': {
        const { BedrockProvider } = await import('./bedrock.js');
        return new BedrockProvider({ model: target.model, region: context.region });
      }
      case 'anthropic': {
        const [{ AnthropicProvider }, apiKey] = await Promise.all([import('./anthropic.js'), context.secret(target.apiKeySecret)]);
        return new AnthropicProvider({ model: target.model, apiKey });
      }
      case 'openai-compatible': {
        const [{ OpenAiCompatibleProvider }, apiKey] = await Promise.all([import('./openai.js'), target.apiKeySecret ? context.secret(target.apiKeySecret) : undefined]);
        return new OpenAiCompatibleProvider({ model: target.model, baseUrl: target.baseUrl, ...(apiKey && { apiKey }) });
      }
    }
  };
}
