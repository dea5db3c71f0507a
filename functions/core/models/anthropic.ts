/**
 * The Anthropic Messages API through the official SDK, one non-streaming call per turn.
 */
import Anthropic, { APIConnectionError, APIError } from '@anthropic-ai/sdk';
import { ModelError, type ContentBlock, type ModelProvider, type ModelRequest, type ModelResponse, type StopReason } from './types';

export interface AnthropicProviderOptions {
  readonly model: string;
  readonly apiKey: string;
  /** Defaults to the SDK's own (api.anthropic.com, or ANTHROPIC_BASE_URL). */
  readonly baseURL?: string;
  readonly timeoutMs?: number;
}

/**
 * Without an explicit timeout the SDK refuses non-streaming calls whose max_tokens suggests more
 * than ten minutes of generation (about 21k tokens); an explicit one skips that estimate.
 */
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

const EPHEMERAL = { type: 'ephemeral' } as const;

export class AnthropicProvider implements ModelProvider {
  readonly provider = 'anthropic';
  readonly model: string;
  private readonly client: Anthropic;

  constructor(options: AnthropicProviderOptions) {
    this.model = options.model;
    this.client = new Anthropic({
      apiKey: options.apiKey,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      // The router above owns retries and fallbacks; SDK retries would multiply them.
      maxRetries: 0,
    });
  }

  async complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse> {
    const tools: Anthropic.Tool[] = request.tools.map((tool, i) => ({
      name: tool.name,
      description: tool.description,
      input_schema: tool.inputSchema as Anthropic.Tool.InputSchema,
      // One breakpoint after the last tool caches the whole tool list as a prefix.
      ...(request.cacheTools && i === request.tools.length - 1 ? { cache_control: EPHEMERAL } : {}),
    }));
    const params: Anthropic.MessageCreateParamsNonStreaming = {
      model: this.model,
      max_tokens: request.maxTokens,
      messages: request.messages.map((message) => ({ role: message.role, content: message.content.map(toWireBlock) })),
      ...(request.system.length
        ? {
            system: request.system.map((part) => ({
              type: 'text' as const,
              text: part.text,
              ...(part.cache ? { cache_control: EPHEMERAL } : {}),
            })),
          }
        : {}),
      ...(tools.length ? { tools } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    };

    let response: Anthropic.Message;
    try {
      response = await this.client.messages.create(params, signal ? { signal } : undefined);
    } catch (error) {
      throw toModelError(error, signal);
    }

    const content: ContentBlock[] = [];
    for (const block of response.content) {
      if (block.type === 'text') content.push({ type: 'text', text: block.text });
      else if (block.type === 'tool_use') content.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input });
      // Thinking and server-tool blocks are not part of the runtime's format; raw keeps them.
    }
    const usage = response.usage;
    return {
      content,
      stopReason: toStopReason(response.stop_reason),
      usage: {
        inputTokens: usage.input_tokens,
        outputTokens: usage.output_tokens,
        cacheReadTokens: usage.cache_read_input_tokens ?? 0,
        cacheWriteTokens: usage.cache_creation_input_tokens ?? 0,
      },
      raw: response,
    };
  }
}

function toWireBlock(block: ContentBlock): Anthropic.ContentBlockParam {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: block.text };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
    case 'tool_result':
      return {
        type: 'tool_result',
        tool_use_id: block.toolUseId,
        content: block.content,
        ...(block.isError ? { is_error: true } : {}),
      };
  }
}

function toStopReason(reason: Anthropic.StopReason | null): StopReason {
  switch (reason) {
    case 'tool_use':
      return 'tool_use';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'max_tokens';
    case 'refusal':
      return 'refusal';
    default:
      // end_turn, stop_sequence, and pause_turn (only server tools pause, and none are offered).
      return 'end_turn';
  }
}

function toModelError(error: unknown, signal: AbortSignal | undefined): unknown {
  // A caller's cancellation is not a model failure: hand back its reason for the caller to see.
  if (signal?.aborted) return signal.reason;
  // Connection failures and timeouts are APIErrors without a status.
  if (error instanceof APIConnectionError) return new ModelError('network', error.message);
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const message = error.message;
    if (status === 429) return new ModelError('throttled', message, status, retryAfterMs(error.headers));
    if (status === 529) return new ModelError('overloaded', message, status, retryAfterMs(error.headers));
    if (status >= 500) return new ModelError('server', message, status, retryAfterMs(error.headers));
    return new ModelError('client', message, status);
  }
  // Anything else was raised before a request went out (bad options, an oversized request).
  return new ModelError('client', error instanceof Error ? error.message : String(error));
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
