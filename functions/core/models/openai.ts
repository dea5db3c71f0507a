/**
 * Any server that speaks OpenAI's chat completions (OpenAI, Azure OpenAI's v1 surface, vLLM,
 * Ollama, LiteLLM...). Plain fetch, no SDK: the wire format is small and the bundle stays small.
 */
import { ModelError, type ContentBlock, type ModelProvider, type ModelRequest, type ModelResponse, type StopReason } from './types';

export interface OpenAiCompatibleProviderOptions {
  readonly model: string;
  /** Up to and including the version segment, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  /** Local servers often need none. */
  readonly apiKey?: string;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

interface WireToolCall {
  readonly id?: string;
  readonly type?: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

type WireMessage =
  | { readonly role: 'system' | 'user'; readonly content: string }
  | { readonly role: 'assistant'; readonly content: string | null; readonly tool_calls?: WireToolCall[] }
  | { readonly role: 'tool'; readonly tool_call_id: string; readonly content: string };

interface WireCompletion {
  readonly choices?: readonly {
    readonly message?: { readonly content?: string | null; readonly tool_calls?: readonly WireToolCall[] | null };
    readonly finish_reason?: string | null;
  }[];
  readonly usage?: {
    readonly prompt_tokens?: number;
    readonly completion_tokens?: number;
    readonly prompt_tokens_details?: { readonly cached_tokens?: number } | null;
  } | null;
}

export class OpenAiCompatibleProvider implements ModelProvider {
  readonly provider = 'openai-compatible';
  readonly model: string;
  private readonly url: string;

  constructor(private readonly options: OpenAiCompatibleProviderOptions) {
    this.model = options.model;
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  async complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse> {
    const messages: WireMessage[] = [];
    // Chat completions has no cache markers: providers that cache do it by prefix on their own.
    const system = request.system.map((part) => part.text).join('\n\n');
    if (system) messages.push({ role: 'system', content: system });
    for (const message of request.messages) messages.push(...toWireMessages(message.role, message.content));

    const body = {
      model: this.model,
      messages,
      // `max_tokens` rather than OpenAI's newer `max_completion_tokens`: every compatible server knows it.
      max_tokens: request.maxTokens,
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.tools.length
        ? {
            tools: request.tools.map((tool) => ({
              type: 'function',
              function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
            })),
          }
        : {}),
    };

    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    let status: number;
    let headers: Headers;
    let text: string;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal: combined,
      });
      status = response.status;
      headers = response.headers;
      // Read inside the try: a connection lost mid-body is a network failure too.
      text = await response.text();
    } catch (error) {
      // A caller's cancellation is not a model failure: hand back its reason for the caller to see.
      if (signal?.aborted) throw signal.reason;
      const reason = timeout.aborted ? `timed out after ${this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : describe(error);
      throw new ModelError('network', `${this.url}: ${reason}`);
    }

    if (status < 200 || status > 299) throw statusError(status, headers, text);

    let completion: WireCompletion;
    try {
      completion = JSON.parse(text) as WireCompletion;
    } catch {
      throw new ModelError('server', `unparseable response (${status}): ${text.slice(0, 200)}`, status);
    }
    const choice = completion.choices?.[0];
    // Some compatible servers report failures as a 200 with an `error` object and no choices.
    if (!choice?.message) throw new ModelError('server', `response without choices: ${text.slice(0, 200)}`, status);

    const content: ContentBlock[] = [];
    if (choice.message.content) content.push({ type: 'text', text: choice.message.content });
    choice.message.tool_calls?.forEach((call, i) => {
      content.push({ type: 'tool_use', id: call.id ?? `call_${i}`, name: call.function.name, input: parseArguments(call.function.arguments) });
    });

    const usage = completion.usage;
    const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
    return {
      content,
      stopReason: toStopReason(choice.finish_reason),
      usage: {
        // OpenAI counts cached tokens inside prompt_tokens; the runtime counts them apart, as Anthropic does.
        inputTokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
        outputTokens: usage?.completion_tokens ?? 0,
        cacheReadTokens: cached,
        cacheWriteTokens: 0,
      },
      raw: completion,
    };
  }
}

function toWireMessages(role: 'user' | 'assistant', blocks: readonly ContentBlock[]): WireMessage[] {
  const text = blocks.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n');
  if (role === 'assistant') {
    const toolCalls: WireToolCall[] = blocks.flatMap((block) =>
      block.type === 'tool_use'
        ? [{ id: block.id, type: 'function' as const, function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } }]
        : [],
    );
    return [{ role: 'assistant', content: text || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }];
  }
  // Tool results become `tool` messages, which must directly follow the assistant's tool calls,
  // so they go before any text the user turn also carries.
  const messages: WireMessage[] = blocks.flatMap((block) =>
    block.type === 'tool_result'
      ? [{
          role: 'tool' as const,
          tool_call_id: block.toolUseId,
          // The format has no error flag; say it in the content so the model still knows.
          content: block.isError ? `Error: ${block.content}` : block.content,
        }]
      : [],
  );
  if (text) messages.push({ role: 'user', content: text });
  return messages;
}

/**
 * Models occasionally emit arguments that are not JSON. Passing the string on lets the tool's
 * input validation reject it and tell the model, instead of failing the whole turn here.
 */
function parseArguments(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

function toStopReason(reason: string | null | undefined): StopReason {
  switch (reason) {
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'length':
      return 'max_tokens';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

function statusError(status: number, headers: Headers, text: string): ModelError {
  const message = `HTTP ${status}: ${errorMessage(text)}`;
  const retryAfter = retryAfterMs(headers);
  if (status === 429) return new ModelError('throttled', message, status, retryAfter);
  // 503 is how vLLM and most gateways say "at capacity"; 529 is Anthropic's, seen behind proxies.
  if (status === 503 || status === 529) return new ModelError('overloaded', message, status, retryAfter);
  if (status >= 500) return new ModelError('server', message, status, retryAfter);
  return new ModelError('client', message, status);
}

function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string };
    const message = typeof parsed.error === 'string' ? parsed.error : parsed.error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return text.slice(0, 200) || '(no body)';
}

function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici hides the useful part ("ECONNREFUSED ...") in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
