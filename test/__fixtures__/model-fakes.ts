/**
 * Loopback fakes of the three model APIs the runtime speaks. A test scripts neutral turns (text,
 * tool uses, stop reason, usage) and each fake renders them in its API's real wire format, so the
 * real SDK clients parse genuine-looking responses and the test can inspect what they sent.
 */
import type { StopReason, Usage } from '../../functions/core/models/types';
import { startLoopback, type LoopbackFault, type LoopbackReply, type RecordedRequest } from './loopback';

export type { RecordedRequest } from './loopback';

/** One model turn, independent of the API that will carry it. */
export interface FakeTurn {
  readonly text?: string;
  readonly toolUses?: readonly { readonly id?: string; readonly name: string; readonly input: unknown }[];
  /** Defaults to `tool_use` when there are tool uses, else `end_turn`. */
  readonly stopReason?: StopReason;
  readonly usage?: Partial<Usage>;
}

/** A raw HTTP failure. Without `body`, the fake writes the API's usual error body for the status. */
export interface FakeFailure {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** A network fault: the connection reset, or no answer at all (see LoopbackFault). */
export type FakeFault = LoopbackFault;

export type FakeReply = FakeTurn | FakeFailure | FakeFault;

/** Replies in order, or a function of the parsed request body and its index. */
export type FakeScript = readonly FakeReply[] | ((body: unknown, index: number) => FakeReply);

export interface ModelFake {
  /** What the provider under test takes as its base URL or endpoint. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

function isFault(reply: FakeReply): reply is FakeFault {
  return typeof (reply as FakeFault).fault === 'string';
}

function isFailure(reply: FakeReply): reply is FakeFailure {
  return typeof (reply as FakeFailure).status === 'number';
}

function pick(script: FakeScript, request: RecordedRequest, index: number): FakeReply {
  if (typeof script === 'function') return script(request.body, index);
  const reply = script[index];
  if (!reply) throw new Error(`script has ${script.length} replies, request ${index + 1} has none`);
  return reply;
}

function stopOf(turn: FakeTurn): StopReason {
  return turn.stopReason ?? (turn.toolUses?.length ? 'tool_use' : 'end_turn');
}

function usageOf(turn: FakeTurn): Usage {
  return { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, ...turn.usage };
}

function toolId(prefix: string, index: number, turnIndex: number, id?: string): string {
  return id ?? `${prefix}${turnIndex}_${index}`;
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages API: POST /v1/messages

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export async function startAnthropicFake(script: FakeScript): Promise<ModelFake> {
  return startLoopback((request, index): LoopbackReply | LoopbackFault => {
    if (request.method !== 'POST' || request.path !== '/v1/messages') {
      return anthropicError({ status: 404 }, `fake serves POST /v1/messages, not ${request.method} ${request.path}`);
    }
    const reply = pick(script, request, index);
    if (isFault(reply)) return reply;
    if (isFailure(reply)) return anthropicError(reply, `scripted ${reply.status}`);

    const body = request.body as { model?: string };
    const usage = usageOf(reply);
    const content: unknown[] = [];
    if (reply.text !== undefined) content.push({ type: 'text', text: reply.text, citations: null });
    reply.toolUses?.forEach((use, i) => {
      content.push({ type: 'tool_use', id: toolId('toolu_fake', i, index, use.id), name: use.name, input: use.input, caller: { type: 'direct' } });
    });
    return {
      status: 200,
      headers: { 'request-id': `req_fake_${index}` },
      body: {
        id: `msg_fake_${index}`,
        type: 'message',
        role: 'assistant',
        model: body.model ?? 'unknown',
        content,
        container: null,
        stop_reason: stopOf(reply),
        stop_sequence: null,
        usage: {
          input_tokens: usage.inputTokens,
          output_tokens: usage.outputTokens,
          cache_read_input_tokens: usage.cacheReadTokens,
          cache_creation_input_tokens: usage.cacheWriteTokens,
          cache_creation: null,
          server_tool_use: null,
          service_tier: 'standard',
        },
      },
    };
  });
}

function anthropicError(failure: FakeFailure, message: string): LoopbackReply {
  const type = ANTHROPIC_ERROR_TYPES[failure.status] ?? (failure.status >= 500 ? 'api_error' : 'invalid_request_error');
  return {
    status: failure.status,
    headers: failure.headers,
    body: failure.body ?? { type: 'error', error: { type, message } },
  };
}

// ---------------------------------------------------------------------------------------------
// Bedrock Runtime Converse: POST /model/{modelId}/converse over HTTP/2 (the SDK's default handler)

const BEDROCK_ERROR_TYPES: Record<number, string> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

const BEDROCK_STOP: Record<StopReason, string> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  refusal: 'guardrail_intervened',
};

const CONVERSE_PATH = /^\/model\/([^/]+)\/converse$/;

export async function startBedrockFake(script: FakeScript): Promise<ModelFake> {
  return startLoopback(
    (request, index): LoopbackReply | LoopbackFault => {
      if (request.method !== 'POST' || !CONVERSE_PATH.test(request.path)) {
        return bedrockError({ status: 404 }, `fake serves POST /model/{modelId}/converse, not ${request.method} ${request.path}`);
      }
      const reply = pick(script, request, index);
      if (isFault(reply)) return reply;
    if (isFailure(reply)) return bedrockError(reply, `scripted ${reply.status}`);

      const usage = usageOf(reply);
      const content: unknown[] = [];
      if (reply.text !== undefined) content.push({ text: reply.text });
      reply.toolUses?.forEach((use, i) => {
        content.push({ toolUse: { toolUseId: toolId('tooluse_fake', i, index, use.id), name: use.name, input: use.input } });
      });
      return {
        status: 200,
        headers: { 'x-amzn-requestid': `fake-${index}` },
        body: {
          output: { message: { role: 'assistant', content } },
          stopReason: BEDROCK_STOP[stopOf(reply)],
          usage: {
            inputTokens: usage.inputTokens,
            outputTokens: usage.outputTokens,
            totalTokens: usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens,
            cacheReadInputTokens: usage.cacheReadTokens,
            cacheWriteInputTokens: usage.cacheWriteTokens,
          },
          metrics: { latencyMs: 1 },
        },
      };
    },
    { http2: true },
  );
}

function bedrockError(failure: FakeFailure, message: string): LoopbackReply {
  const type = BEDROCK_ERROR_TYPES[failure.status] ?? (failure.status >= 500 ? 'InternalServerException' : 'ValidationException');
  return {
    status: failure.status,
    // The SDK takes the error's name from this header first (then the body's `code` or `__type`).
    // The real service appends a namespace after a colon, which the SDK strips.
    headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, ...failure.headers },
    body: failure.body ?? { message },
  };
}

// ---------------------------------------------------------------------------------------------
// OpenAI-compatible chat completions: POST /v1/chat/completions

const OPENAI_FINISH: Record<StopReason, string> = {
  end_turn: 'stop',
  tool_use: 'tool_calls',
  max_tokens: 'length',
  refusal: 'content_filter',
};

export async function startOpenAiFake(script: FakeScript): Promise<ModelFake> {
  const server = await startLoopback((request, index): LoopbackReply | LoopbackFault => {
    // Any prefix: Azure OpenAI's v1 API serves the same route under /openai/v1.
    if (request.method !== 'POST' || !request.path.endsWith('/v1/chat/completions')) {
      return openAiError({ status: 404 }, `fake serves POST /v1/chat/completions, not ${request.method} ${request.path}`);
    }
    const reply = pick(script, request, index);
    if (isFault(reply)) return reply;
    if (isFailure(reply)) return openAiError(reply, `scripted ${reply.status}`);

    const body = request.body as { model?: string };
    const usage = usageOf(reply);
    // OpenAI counts cached tokens inside prompt_tokens; it has no separate cache-write count.
    const promptTokens = usage.inputTokens + usage.cacheReadTokens;
    const toolCalls = reply.toolUses?.map((use, i) => ({
      id: toolId('call_fake', i, index, use.id),
      type: 'function',
      function: { name: use.name, arguments: JSON.stringify(use.input) },
    }));
    return {
      status: 200,
      body: {
        id: `chatcmpl-fake-${index}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? 'unknown',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: reply.text ?? null,
              refusal: null,
              ...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
            },
            logprobs: null,
            finish_reason: OPENAI_FINISH[stopOf(reply)],
          },
        ],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: usage.outputTokens,
          total_tokens: promptTokens + usage.outputTokens,
          prompt_tokens_details: { cached_tokens: usage.cacheReadTokens },
        },
      },
    };
  });
  return { ...server, url: `${server.url}/v1` };
}

function openAiError(failure: FakeFailure, message: string): LoopbackReply {
  const type = failure.status === 429 ? 'rate_limit_exceeded' : failure.status >= 500 ? 'server_error' : 'invalid_request_error';
  return {
    status: failure.status,
    headers: failure.headers,
    body: failure.body ?? { error: { message, type, param: null, code: type } },
  };
}
