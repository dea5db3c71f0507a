/**
 * The three model providers, each driving its real client (Anthropic SDK, AWS SDK, fetch) against a
 * loopback fake of its API: what comes back is mapped right, what goes out is the right wire
 * format (cache markers included), and failures are classified the way the router expects.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AnthropicProvider } from '../../functions/core/models/anthropic';
import { awsProviders } from '../../functions/aws/adapters';
import { BedrockProvider } from '../../functions/aws/bedrock';
import { OpenAiCompatibleProvider } from '../../functions/core/models/openai';
import { ModelError, type Message, type ModelProvider, type ModelRequest, type ModelResponse, type ToolSpec } from '../../functions/core/models/types';
import { startLoopback } from '../__fixtures__/loopback';
import { startAnthropicFake, startBedrockFake, startOpenAiFake, type ModelFake } from '../__fixtures__/model-fakes';

const WEATHER_SCHEMA = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const TOOLS: ToolSpec[] = [
  { name: 'get_weather', description: 'Current weather for a city.', inputSchema: WEATHER_SCHEMA },
  { name: 'get_time', description: 'Current time in a city.', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } },
];
const SYSTEM = [
  { text: 'You are a terse assistant.', cache: true },
  { text: 'Skills: weather, time.', cache: true },
  { text: 'Today is Tuesday.' },
];
const QUESTION: Message = { role: 'user', content: [{ type: 'text', text: 'Weather and time in Oslo?' }] };

function request(messages: readonly Message[], extra: Partial<ModelRequest> = {}): ModelRequest {
  return { system: SYSTEM, messages, tools: TOOLS, cacheTools: true, maxTokens: 1024, ...extra };
}

/** The conversation after the model asked for two tools: one result fine, one failed. */
function withToolResults(first: ModelResponse): Message[] {
  const [weather, time] = first.content.filter((block) => block.type === 'tool_use');
  assert.ok(weather?.type === 'tool_use' && time?.type === 'tool_use');
  return [
    QUESTION,
    { role: 'assistant', content: first.content },
    {
      role: 'user',
      content: [
        { type: 'tool_result', toolUseId: weather.id, content: '{"sky":"sunny","celsius":21}' },
        { type: 'tool_result', toolUseId: time.id, content: 'clock service down', isError: true },
      ],
    },
  ];
}

const TOOL_TURN = {
  text: 'Let me check.',
  toolUses: [
    { id: 'use_weather', name: 'get_weather', input: { city: 'Oslo' } },
    { id: 'use_time', name: 'get_time', input: { city: 'Oslo' } },
  ],
};

async function modelError(promise: Promise<unknown>): Promise<ModelError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ModelError, `expected a ModelError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

/** A URL nothing listens on: a server that was started and closed again. */
async function deadUrl(): Promise<string> {
  const server = await startLoopback(() => ({ status: 200 }));
  await server.close();
  return server.url;
}

/** A provider against a fresh fake per call; the suite closes every fake it started. */
function fakedProvider<S>(start: (script: S) => Promise<ModelFake>, make: (fake: ModelFake) => ModelProvider) {
  const fakes: ModelFake[] = [];
  after(async () => {
    await Promise.all(fakes.map((fake) => fake.close()));
  });
  return async (script: S) => {
    const fake = await start(script);
    fakes.push(fake);
    return { fake, model: make(fake) };
  };
}

/** One scripted answer without tools, and what every provider must make of it. */
const SUNNY = 'Sunny, 21 °C.';
async function plainAnswer(model: ModelProvider): Promise<ModelResponse> {
  const response = await model.complete(request([QUESTION], { tools: [], cacheTools: false, temperature: 0.2 }));
  assert.deepEqual(response.content, [{ type: 'text', text: SUNNY }]);
  assert.equal(response.stopReason, 'end_turn');
  return response;
}

/** The next call's error, with each given field as expected. */
async function nextError(model: ModelProvider, expected: Partial<Pick<ModelError, 'kind' | 'status' | 'retryAfterMs' | 'retryable'>>): Promise<ModelError> {
  const error = await modelError(model.complete(request([QUESTION])));
  for (const [field, value] of Object.entries(expected)) assert.equal(error[field as keyof typeof expected], value, field);
  return error;
}

/**
 * The neutral half of a tool round trip, the same for every provider: a turn asking for two tools,
 * then their results sent back and a final answer. Returns the body of the second request as the
 * fake received it, for each provider's wire-format assertions.
 */
async function toolRoundTrip(model: ModelProvider, fake: ModelFake): Promise<Record<string, unknown>> {
  const first = await model.complete(request([QUESTION]));
  assert.equal(first.stopReason, 'tool_use');
  assert.deepEqual(first.content, [
    { type: 'text', text: 'Let me check.' },
    { type: 'tool_use', id: 'use_weather', name: 'get_weather', input: { city: 'Oslo' } },
    { type: 'tool_use', id: 'use_time', name: 'get_time', input: { city: 'Oslo' } },
  ]);
  const second = await model.complete(request(withToolResults(first)));
  assert.deepEqual(second.content, [{ type: 'text', text: 'Sunny; the clock is unavailable.' }]);
  assert.equal(second.stopReason, 'end_turn');
  return fake.requests[1]!.body as Record<string, unknown>;
}

/** A truncated answer, then a refusal with no content: each provider's wire names for them differ. */
const TRUNCATED_THEN_REFUSED = [{ text: 'Truncat', stopReason: 'max_tokens' }, { stopReason: 'refusal' }] as const;

async function truncatedThenRefused(model: ModelProvider): Promise<void> {
  assert.equal((await model.complete(request([QUESTION]))).stopReason, 'max_tokens');
  const refused = await model.complete(request([QUESTION]));
  assert.equal(refused.stopReason, 'refusal');
  assert.deepEqual(refused.content, []);
}

describe('AnthropicProvider', () => {
  const provider = fakedProvider(startAnthropicFake, (fake) => new AnthropicProvider({ model: 'claude-sonnet-5-5', apiKey: 'sk-ant-test', baseURL: fake.url }));

  test('maps a text answer, its stop reason and its usage with cache tokens', async () => {
    const { fake, model } = await provider([{ text: SUNNY, usage: { inputTokens: 12, outputTokens: 7, cacheReadTokens: 900, cacheWriteTokens: 40 } }]);
    const response = await plainAnswer(model);
    assert.deepEqual(response.usage, { inputTokens: 12, outputTokens: 7, cacheReadTokens: 900, cacheWriteTokens: 40 });
    assert.equal((response.raw as { id: string }).id, 'msg_fake_0');

    assert.equal(fake.requests.length, 1);
    const sent = fake.requests[0]!;
    assert.equal(sent.path, '/v1/messages');
    // SDK 1.x sends the API key as a bearer token, not as x-api-key.
    assert.equal(sent.headers['authorization'], 'Bearer sk-ant-test');
    assert.match(String(sent.headers['anthropic-version']), /^\d{4}-\d{2}-\d{2}$/);
    const body = sent.body as Record<string, unknown>;
    assert.equal(body['model'], 'claude-sonnet-5-5');
    assert.equal(body['max_tokens'], 1024);
    assert.equal(body['temperature'], 0.2);
    assert.equal(body['tools'], undefined, 'no tools, no tools field');
    assert.deepEqual(body['messages'], [{ role: 'user', content: [{ type: 'text', text: 'Weather and time in Oslo?' }] }]);
  });

  test('round-trips a tool-use turn and sends tool results, schemas and cache breakpoints', async () => {
    const { fake, model } = await provider([TOOL_TURN, { text: 'Sunny; the clock is unavailable.' }]);

    const body = await toolRoundTrip(model, fake);
    assert.deepEqual(body['system'], [
      { type: 'text', text: 'You are a terse assistant.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Skills: weather, time.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Today is Tuesday.' },
    ]);
    assert.deepEqual(body['tools'], [
      { name: 'get_weather', description: 'Current weather for a city.', input_schema: WEATHER_SCHEMA },
      {
        name: 'get_time',
        description: 'Current time in a city.',
        input_schema: TOOLS[1]!.inputSchema,
        cache_control: { type: 'ephemeral' },
      },
    ]);
    assert.deepEqual(body['messages'], [
      { role: 'user', content: [{ type: 'text', text: 'Weather and time in Oslo?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'use_weather', name: 'get_weather', input: { city: 'Oslo' } },
          { type: 'tool_use', id: 'use_time', name: 'get_time', input: { city: 'Oslo' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'use_weather', content: '{"sky":"sunny","celsius":21}' },
          { type: 'tool_result', tool_use_id: 'use_time', content: 'clock service down', is_error: true },
        ],
      },
    ]);
  });

  test('maps max_tokens and refusal stop reasons', async () => {
    const { model } = await provider(TRUNCATED_THEN_REFUSED);
    await truncatedThenRefused(model);
  });

  test('classifies HTTP failures and makes exactly one attempt each', async () => {
    const { fake, model } = await provider([
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 429, headers: { 'retry-after-ms': '1500' } },
      { status: 529 },
      { status: 500 },
      { status: 400 },
    ]);

    await nextError(model, { kind: 'throttled', status: 429, retryAfterMs: 7000, retryable: true });
    await nextError(model, { kind: 'throttled', retryAfterMs: 1500 });
    assert.match((await nextError(model, { kind: 'overloaded', status: 529 })).message, /scripted 529/);
    await nextError(model, { kind: 'server', status: 500 });
    await nextError(model, { kind: 'client', status: 400, retryable: false });

    // maxRetries: 0 — the router, not the SDK, decides about another attempt.
    assert.equal(fake.requests.length, 5);
  });

  test('classifies a refused connection as network', async () => {
    await nextError(new AnthropicProvider({ model: 'claude-sonnet-5-5', apiKey: 'sk-ant-test', baseURL: await deadUrl() }), { kind: 'network', status: undefined });
  });
});

describe('BedrockProvider', () => {
  const MODEL_ID = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
  const CREDENTIALS = { accessKeyId: 'AKIDTESTTEST', secretAccessKey: 'test-secret' };
  const provider = fakedProvider(startBedrockFake, (fake) => new BedrockProvider({ model: MODEL_ID, region: 'us-east-1', endpoint: fake.url, credentials: CREDENTIALS }));

  test('maps a text answer, its stop reason and its usage with cache tokens, over h2c', async () => {
    const { fake, model } = await provider([{ text: SUNNY, usage: { inputTokens: 12, outputTokens: 7, cacheReadTokens: 900, cacheWriteTokens: 40 } }]);
    const response = await plainAnswer(model);
    assert.deepEqual(response.usage, { inputTokens: 12, outputTokens: 7, cacheReadTokens: 900, cacheWriteTokens: 40 });
    assert.equal((response.raw as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, 200);

    const sent = fake.requests[0]!;
    assert.equal(sent.method, 'POST');
    assert.equal(sent.path, `/model/${encodeURIComponent(MODEL_ID)}/converse`);
    // HTTP/2 pseudo-headers: the SDK's default (HTTP/2) handler made this request.
    assert.equal(sent.headers[':scheme'], 'http');
    assert.match(String(sent.headers['authorization']), /^AWS4-HMAC-SHA256 Credential=AKIDTESTTEST\/\d{8}\/us-east-1\/bedrock\//);
    const body = sent.body as Record<string, unknown>;
    assert.deepEqual(body['inferenceConfig'], { maxTokens: 1024, temperature: 0.2 });
    assert.equal(body['toolConfig'], undefined, 'no tools, no toolConfig');
    assert.deepEqual(body['messages'], [{ role: 'user', content: [{ text: 'Weather and time in Oslo?' }] }]);
  });

  test('calls through an application inference profile, named by the model still, when the router made one for the cohort', async () => {
    const profileArn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6';
    const fake = await startBedrockFake([{ text: SUNNY }]);
    const saved = { ...process.env };
    try {
      // As a Lambda function's environment gives them to the SDK.
      Object.assign(process.env, { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url, AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey });
      const model = await awsProviders('us-east-1', { [MODEL_ID]: profileArn }).bedrock!({ provider: 'bedrock', model: MODEL_ID }, async () => '');
      assert.equal(model.model, MODEL_ID, 'prices and records keep the model');
      await plainAnswer(model);
      assert.equal(fake.requests[0]!.path, `/model/${encodeURIComponent(profileArn)}/converse`);
    } finally {
      for (const key of ['AWS_ENDPOINT_URL_BEDROCK_RUNTIME', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
      await fake.close();
    }
  });

  test('round-trips a tool-use turn and sends tool results, schemas and cache points', async () => {
    const { fake, model } = await provider([TOOL_TURN, { text: 'Sunny; the clock is unavailable.' }]);

    const body = await toolRoundTrip(model, fake);
    assert.deepEqual(body['system'], [
      { text: 'You are a terse assistant.' },
      { cachePoint: { type: 'default' } },
      { text: 'Skills: weather, time.' },
      { cachePoint: { type: 'default' } },
      { text: 'Today is Tuesday.' },
    ]);
    assert.deepEqual(body['toolConfig'], {
      tools: [
        { toolSpec: { name: 'get_weather', description: 'Current weather for a city.', inputSchema: { json: WEATHER_SCHEMA } } },
        { toolSpec: { name: 'get_time', description: 'Current time in a city.', inputSchema: { json: TOOLS[1]!.inputSchema } } },
        { cachePoint: { type: 'default' } },
      ],
    });
    assert.deepEqual(body['messages'], [
      { role: 'user', content: [{ text: 'Weather and time in Oslo?' }] },
      {
        role: 'assistant',
        content: [
          { text: 'Let me check.' },
          { toolUse: { toolUseId: 'use_weather', name: 'get_weather', input: { city: 'Oslo' } } },
          { toolUse: { toolUseId: 'use_time', name: 'get_time', input: { city: 'Oslo' } } },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'use_weather', content: [{ text: '{"sky":"sunny","celsius":21}' }], status: 'success' } },
          { toolResult: { toolUseId: 'use_time', content: [{ text: 'clock service down' }], status: 'error' } },
        ],
      },
    ]);
  });

  test('maps max_tokens and guardrail stop reasons', async () => {
    const { model } = await provider([{ text: 'Truncat', stopReason: 'max_tokens' }, { text: 'Blocked.', stopReason: 'refusal' }]);
    assert.equal((await model.complete(request([QUESTION]))).stopReason, 'max_tokens');
    assert.equal((await model.complete(request([QUESTION]))).stopReason, 'refusal');
  });

  test('classifies service exceptions and makes exactly one attempt each', async () => {
    const { fake, model } = await provider([
      { status: 429, headers: { 'retry-after': '3' } },
      { status: 503 },
      { status: 429, headers: { 'x-amzn-errortype': 'ModelNotReadyException' } },
      { status: 500 },
      { status: 400 },
    ]);

    assert.match((await nextError(model, { kind: 'throttled', status: 429, retryAfterMs: 3000 })).message, /^ThrottlingException: scripted 429/);
    assert.match((await nextError(model, { kind: 'overloaded', status: 503 })).message, /^ServiceUnavailableException/);
    // A model still loading is overloaded, whatever its 429.
    await nextError(model, { kind: 'overloaded' });
    await nextError(model, { kind: 'server', status: 500 });
    assert.match((await nextError(model, { kind: 'client', status: 400, retryable: false })).message, /^ValidationException/);

    // maxAttempts: 1 — the router, not the SDK, decides about another attempt.
    assert.equal(fake.requests.length, 5);
  });

  test('classifies a refused connection as network', async () => {
    await nextError(new BedrockProvider({ model: MODEL_ID, region: 'us-east-1', endpoint: await deadUrl(), credentials: CREDENTIALS }), { kind: 'network', status: undefined });
  });
});

describe('OpenAiCompatibleProvider', () => {
  const provider = fakedProvider(startOpenAiFake, (fake) => new OpenAiCompatibleProvider({ model: 'gpt-test', baseUrl: fake.url, apiKey: 'sk-test' }));

  test('maps a text answer, its stop reason and its usage with cached tokens', async () => {
    const { fake, model } = await provider([{ text: SUNNY, usage: { inputTokens: 12, outputTokens: 7, cacheReadTokens: 900 } }]);
    const response = await plainAnswer(model);
    // The fake reports prompt_tokens = 912 with 900 cached; the runtime counts them apart.
    assert.deepEqual(response.usage, { inputTokens: 12, outputTokens: 7, cacheReadTokens: 900, cacheWriteTokens: 0 });
    assert.equal((response.raw as { usage: { prompt_tokens: number } }).usage.prompt_tokens, 912);

    const sent = fake.requests[0]!;
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers['authorization'], 'Bearer sk-test');
    const body = sent.body as Record<string, unknown>;
    assert.equal(body['model'], 'gpt-test');
    assert.equal(body['max_tokens'], 1024);
    assert.equal(body['temperature'], 0.2);
    assert.equal(body['tools'], undefined, 'no tools, no tools field');
    assert.deepEqual(body['messages'], [
      { role: 'system', content: 'You are a terse assistant.\n\nSkills: weather, time.\n\nToday is Tuesday.' },
      { role: 'user', content: 'Weather and time in Oslo?' },
    ]);
  });

  test('round-trips a tool-use turn and sends tool calls, tool messages and schemas', async () => {
    const { fake, model } = await provider([TOOL_TURN, { text: 'Sunny; the clock is unavailable.' }]);

    const body = await toolRoundTrip(model, fake);
    assert.deepEqual(body['tools'], [
      { type: 'function', function: { name: 'get_weather', description: 'Current weather for a city.', parameters: WEATHER_SCHEMA } },
      { type: 'function', function: { name: 'get_time', description: 'Current time in a city.', parameters: TOOLS[1]!.inputSchema } },
    ]);
    assert.deepEqual((body['messages'] as unknown[]).slice(1), [
      { role: 'user', content: 'Weather and time in Oslo?' },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'use_weather', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { id: 'use_time', type: 'function', function: { name: 'get_time', arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'use_weather', content: '{"sky":"sunny","celsius":21}' },
      { role: 'tool', tool_call_id: 'use_time', content: 'Error: clock service down' },
    ]);
  });

  test('maps length and content_filter finish reasons', async () => {
    const { model } = await provider(TRUNCATED_THEN_REFUSED);
    await truncatedThenRefused(model);
  });

  test('classifies HTTP failures', async () => {
    const { fake, model } = await provider([
      { status: 429, headers: { 'retry-after': '2' } },
      { status: 503 },
      { status: 500 },
      { status: 400, body: { error: { message: 'messages: must not be empty', type: 'invalid_request_error' } } },
    ]);

    await nextError(model, { kind: 'throttled', retryAfterMs: 2000 });
    await nextError(model, { kind: 'overloaded', status: 503 });
    await nextError(model, { kind: 'server', status: 500 });
    assert.match((await nextError(model, { kind: 'client', status: 400, retryable: false })).message, /messages: must not be empty/);

    assert.equal(fake.requests.length, 4);
  });

  test('classifies a refused connection and a timeout as network', async () => {
    await nextError(new OpenAiCompatibleProvider({ model: 'gpt-test', baseUrl: await deadUrl() }), { kind: 'network' });

    // A server that answers only after the test is over.
    let release = (): void => {};
    const stalled = new Promise<void>((resolve) => (release = resolve));
    const slow = await startLoopback(async () => {
      await stalled;
      return { status: 200, body: {} };
    });
    try {
      const model = new OpenAiCompatibleProvider({ model: 'gpt-test', baseUrl: slow.url, timeoutMs: 100 });
      assert.match((await nextError(model, { kind: 'network' })).message, /timed out after 100 ms/);
    } finally {
      release();
      await slow.close();
    }
  });

  test("hands back the caller's abort reason instead of a ModelError", async () => {
    const slowRelease: { release: () => void } = { release: () => {} };
    const slow = await startLoopback(
      () => new Promise((resolve) => (slowRelease.release = () => resolve({ status: 200, body: {} }))),
    );
    try {
      const controller = new AbortController();
      const model = new OpenAiCompatibleProvider({ model: 'gpt-test', baseUrl: slow.url });
      const pending = model.complete(request([QUESTION]), controller.signal);
      const reason = new Error('run cancelled');
      setTimeout(() => controller.abort(reason), 20);
      await assert.rejects(pending, (error) => error === reason);
    } finally {
      slowRelease.release();
      await slow.close();
    }
  });
});
