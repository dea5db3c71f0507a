/**
 * Amazon Bedrock's Converse API through the AWS SDK, one non-streaming call per turn.
 */
import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ContentBlock as WireBlock,
  type ConverseCommandInput,
  type ConverseCommandOutput,
  type SystemContentBlock,
  type Tool,
} from '@aws-sdk/client-bedrock-runtime';
import { ModelError, type ContentBlock, type ModelProvider, type ModelRequest, type ModelResponse, type StopReason } from '../core/models/types';

export interface BedrockProviderOptions {
  readonly model: string;
  readonly region: string;
  /** Only for tests and private endpoints; the SDK derives the regional endpoint otherwise. */
  readonly endpoint?: string;
  /**
   * What Converse is called with: an application inference profile's ARN over `model`.
   * @default the model
   */
  readonly modelId?: string;
  /** Defaults to the SDK's provider chain (the Lambda role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Converse's "cache everything before this point" marker. */
const CACHE_POINT = { cachePoint: { type: 'default' } } as const;

/** The SDK's document type is a recursive JSON union; the runtime's `unknown` input is JSON by contract. */
type Document = NonNullable<NonNullable<WireBlock.ToolUseMember['toolUse']>['input']>;

export class BedrockProvider implements ModelProvider {
  readonly provider = 'bedrock';
  readonly model: string;
  private readonly modelId: string;
  /** One client per provider so its HTTP/2 session and resolved credentials are reused across turns. */
  private readonly client: BedrockRuntimeClient;

  constructor(options: BedrockProviderOptions) {
    this.model = options.model;
    this.modelId = options.modelId ?? options.model;
    this.client = new BedrockRuntimeClient({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
      // The router above owns retries and fallbacks; SDK retries would multiply them.
      maxAttempts: 1,
    });
  }

  async complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse> {
    const system: SystemContentBlock[] = request.system.flatMap((part) => (part.cache ? [{ text: part.text }, CACHE_POINT] : [{ text: part.text }]));
    const tools: Tool[] = request.tools.map((tool) => ({
      toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: tool.inputSchema as Document } },
    }));
    if (request.cacheTools && tools.length) tools.push(CACHE_POINT);

    const input: ConverseCommandInput = {
      modelId: this.modelId,
      messages: request.messages.map((message) => ({ role: message.role, content: message.content.map(toWireBlock) })),
      inferenceConfig: {
        maxTokens: request.maxTokens,
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      },
      ...(system.length ? { system } : {}),
      // Converse rejects an empty tool list, so no tools means no toolConfig at all.
      ...(tools.length ? { toolConfig: { tools } } : {}),
    };

    let response: ConverseCommandOutput;
    try {
      response = await this.client.send(new ConverseCommand(input), signal ? { abortSignal: signal } : undefined);
    } catch (error) {
      throw toModelError(error, signal);
    }

    const content: ContentBlock[] = [];
    for (const block of response.output?.message?.content ?? []) {
      if (block.text !== undefined) content.push({ type: 'text', text: block.text });
      else if (block.toolUse) {
        content.push({ type: 'tool_use', id: block.toolUse.toolUseId ?? '', name: block.toolUse.name ?? '', input: block.toolUse.input });
      }
      // Reasoning and citation blocks are not part of the runtime's format; raw keeps them.
    }
    const usage = response.usage;
    return {
      content,
      stopReason: toStopReason(response.stopReason),
      usage: {
        inputTokens: usage?.inputTokens ?? 0,
        outputTokens: usage?.outputTokens ?? 0,
        cacheReadTokens: usage?.cacheReadInputTokens ?? 0,
        cacheWriteTokens: usage?.cacheWriteInputTokens ?? 0,
      },
      raw: response,
    };
  }
}

function toWireBlock(block: ContentBlock): WireBlock {
  switch (block.type) {
    case 'text':
      return { text: block.text };
    case 'tool_use':
      return { toolUse: { toolUseId: block.id, name: block.name, input: block.input as Document } };
    case 'tool_result':
      return {
        toolResult: { toolUseId: block.toolUseId, content: [{ text: block.content }], status: block.isError ? 'error' : 'success' },
      };
  }
}

function toStopReason(reason: string | undefined): StopReason {
  switch (reason) {
    case 'tool_use':
      return 'tool_use';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'max_tokens';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'refusal';
    default:
      // end_turn, stop_sequence; malformed output surfaces as an ordinary end for the loop to judge.
      return 'end_turn';
  }
}

/** What the SDK attaches to service exceptions (and, partly, to transport errors). */
interface SdkErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $response?: { readonly statusCode?: number; readonly headers?: Record<string, string | undefined> };
}

function toModelError(error: unknown, signal: AbortSignal | undefined): unknown {
  // A caller's cancellation is not a model failure: hand back its reason for the caller to see.
  if (signal?.aborted) return signal.reason;
  const e = (error ?? {}) as SdkErrorShape;
  const name = e.name ?? 'Error';
  const message = `${name}: ${e.message ?? String(error)}`;
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const retryAfter = retryAfterMs(e.$response?.headers);

  // Names first: Bedrock reports ModelNotReadyException as a 429, but it means "warming up", not "slow down".
  if (name === 'ModelNotReadyException' || name === 'ServiceUnavailableException') return new ModelError('overloaded', message, status, retryAfter);
  if (name === 'ThrottlingException') return new ModelError('throttled', message, status, retryAfter);
  // The model ran out of time on Bedrock's side (HTTP 408): worth another try, unlike other 4xx.
  if (name === 'ModelTimeoutException') return new ModelError('server', message, status, retryAfter);
  if (name === 'CredentialsProviderError') return new ModelError('client', message);
  if (status === undefined) return new ModelError('network', message);
  if (status === 429) return new ModelError('throttled', message, status, retryAfter);
  if (status === 503) return new ModelError('overloaded', message, status, retryAfter);
  if (status >= 500) return new ModelError('server', message, status, retryAfter);
  return new ModelError('client', message, status);
}

function retryAfterMs(headers: Record<string, string | undefined> | undefined): number | undefined {
  const value = headers?.['retry-after'];
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
