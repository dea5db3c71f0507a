import type { Usage } from '../../../contract/runs/results';

/**
 * The runtime's one message format. Every provider translates to and from it, so the loop, the
 * audit record and the tests never see a provider's wire format.
 */

export type ContentBlock =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: unknown }
  | { readonly type: 'tool_result'; readonly toolUseId: string; readonly content: string; readonly isError?: boolean };

export interface Message {
  readonly role: 'user' | 'assistant';
  readonly content: readonly ContentBlock[];
}

export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the input object. */
  readonly inputSchema: Record<string, unknown>;
}

export interface ModelRequest {
  /**
   * The system prompt in parts. Parts marked `cache` end a prefix the provider may cache
   * (Anthropic `cache_control`, Bedrock `cachePoint`): instructions, then the skill catalog.
   */
  readonly system: readonly { readonly text: string; readonly cache?: boolean }[];
  readonly messages: readonly Message[];
  readonly tools: readonly ToolSpec[];
  /** Cache the tool definitions as a prefix too. */
  readonly cacheTools?: boolean;
  readonly maxTokens: number;
  readonly temperature?: number;
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'refusal';

export type { Usage };

export interface ModelResponse {
  readonly content: readonly ContentBlock[];
  readonly stopReason: StopReason;
  readonly usage: Usage;
  /** The provider's raw response, kept for the audit record. */
  readonly raw: unknown;
}

/** One concrete model behind one API. */
export interface ModelProvider {
  /** `anthropic`, `bedrock` or `openai-compatible`. */
  readonly provider: string;
  readonly model: string;
  complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse>;
}

/**
 * A provider failure, classified so the router knows whether to retry, fall back or give up.
 * `retryAfterMs` carries the server's retry-after when it sent one.
 */
export class ModelError extends Error {
  constructor(
    readonly kind: 'throttled' | 'overloaded' | 'server' | 'client' | 'network' | 'timeout',
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ModelError';
  }

  /** Worth another attempt: throttling, overload, 5xx, lost connections and timeouts. */
  get retryable(): boolean {
    return this.kind !== 'client';
  }
}

export const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
