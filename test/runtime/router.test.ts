import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, beforeEach, describe, it } from 'node:test';
import type { ModelTargetConfig } from '../../contract/config/runtime-config';
import { AnthropicProvider } from '../../functions/core/models/anthropic';
import { BedrockProvider } from '../../functions/aws/bedrock';
import { breakerFor, CircuitBreaker, DEFAULT_BREAKER, resetBreakers } from '../../functions/core/models/circuit-breaker';
import { backoffMs, DEFAULT_RETRY } from '../../functions/core/models/retry';
import { AllTargetsFailedError, ModelCallError, ModelRouter } from '../../functions/core/models/router';
import { ModelError, type ModelRequest } from '../../functions/core/models/types';
import { startAnthropicFake, startBedrockFake, type FakeScript, type ModelFake } from '../__fixtures__/model-fakes';

const request: ModelRequest = { system: [{ text: 'You help.', cache: true }], messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [], maxTokens: 100 };
const fakes: ModelFake[] = [];
after(async () => Promise.all(fakes.map((f) => f.close())));
beforeEach(() => resetBreakers());

/** A router over an Anthropic target and a Bedrock target, both real clients on loopback fakes. */
async function route(anthropic: FakeScript, bedrock: FakeScript, options: ConstructorParameters<typeof ModelRouter>[2] = {}) {
  const a = await startAnthropicFake(anthropic);
  const b = await startBedrockFake(bedrock);
  fakes.push(a, b);
  const targets: ModelTargetConfig[] = [
    { provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'key' },
    { provider: 'bedrock', model: 'anthropic.claude-haiku-4-5-20251001-v1:0' },
  ];
  const waits: number[] = [];
  const router = new ModelRouter(
    targets,
    async (t) =>
      t.provider === 'anthropic'
        ? new AnthropicProvider({ model: t.model, apiKey: 'sk-test', baseURL: a.url })
        : new BedrockProvider({ model: t.model, region: 'us-east-1', endpoint: b.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    { sleep: async (ms) => void waits.push(ms), ...options },
  );
  return { router, a, b, waits };
}

const overloaded = { status: 529 };

/** A loopback server that takes every request and never answers it: a hung model endpoint. */
async function startHungServer(): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const server = createServer(() => void state.requests++);
  const state = { requests: 0 };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('the model router', () => {
  it('times out a hung primary and falls back, without retrying the hung one', async () => {
    const hung = await startHungServer();
    const good = await startAnthropicFake([{ text: 'from the fallback' }]);
    fakes.push(good, { url: hung.url, requests: [], close: hung.close });
    const targets: ModelTargetConfig[] = [
      { provider: 'anthropic', model: 'claude-hung', apiKeySecret: 'key', timeoutSeconds: 1 },
      { provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'key' },
    ];
    const router = new ModelRouter(targets, async (t) => new AnthropicProvider({ model: t.model, apiKey: 'sk-test', baseURL: t.model === 'claude-hung' ? hung.url : good.url }), { sleep: async () => {} });
    const started = Date.now();
    const response = await router.complete(request);
    assert.equal(response.model, 'claude-sonnet-4-6');
    assert.ok(Date.now() - started < 5_000, 'the hung call was cut at its 1 s timeout');
    assert.equal(hung.requests, 1, 'a timed-out target is not tried again while another remains');
    assert.deepEqual(response.attempts.map((x) => [x.model, x.outcome, x.errorKind ?? null]), [
      ['claude-hung', 'error', 'timeout'],
      ['claude-sonnet-4-6', 'ok', null],
    ]);
    assert.match(response.attempts[0]!.message!, /no answer within 1\.0 s/);
  });

  it('cuts an attempt at the run\'s deadline even when the target allows longer, and lets go of a provider that ignores the signal', async () => {
    const deaf = { provider: 'bedrock', model: 'deaf', complete: () => new Promise<never>(() => {}) };
    const router = new ModelRouter([{ provider: 'bedrock', model: 'deaf', timeoutSeconds: 600 }], async () => deaf, { sleep: async () => {}, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const started = Date.now();
    await assert.rejects(router.complete(request, { deadline: Date.now() + 200 }), (e: AllTargetsFailedError) => e instanceof AllTargetsFailedError && e.attempts[0]!.errorKind === 'timeout');
    assert.ok(Date.now() - started < 2_000);
  });

  it('retries a target on 529, then falls back to the next and records every attempt', async () => {
    const { router, a, b, waits } = await route([overloaded, overloaded, overloaded], [{ text: 'from bedrock' }]);
    const response = await router.complete(request);
    assert.equal(response.provider, 'bedrock');
    assert.equal(response.content[0]?.type === 'text' && response.content[0].text, 'from bedrock');
    assert.equal(a.requests.length, 3);
    assert.equal(b.requests.length, 1);
    assert.deepEqual(
      response.attempts.map((x) => [x.provider, x.attempt, x.outcome, x.errorKind ?? null, x.status ?? null]),
      [
        ['anthropic', 1, 'error', 'overloaded', 529],
        ['anthropic', 2, 'error', 'overloaded', 529],
        ['anthropic', 3, 'error', 'overloaded', 529],
        ['bedrock', 1, 'ok', null, null],
      ],
    );
    assert.equal(waits.length, 2, 'it waits between attempts on one target, not before falling back');
  });

  it('honours retry-after when the server asks for a longer wait', async () => {
    const { router, waits } = await route([{ status: 429, headers: { 'retry-after': '7' } }, { text: 'ok' }], []);
    await router.complete(request);
    assert.deepEqual(waits, [7000]);
  });

  it('does not retry or fall back on a client error', async () => {
    const { router, a, b } = await route([{ status: 400 }], [{ text: 'never' }]);
    await assert.rejects(router.complete(request), (e: ModelCallError) => e instanceof ModelCallError && e.modelError.kind === 'client' && e.attempts.length === 1);
    assert.equal(a.requests.length, 1);
    assert.equal(b.requests.length, 0);
  });

  it('retries a connection reset on the same target, on HTTP/1.1 and HTTP/2 alike', async () => {
    const { router, a, b } = await route([{ fault: 'reset' }, { text: 'after a reset' }], [{ fault: 'reset' }, { text: 'unused' }]);
    const result = await router.complete(request);
    assert.equal(result.provider, 'anthropic');
    assert.equal(a.requests.length, 2, 'the reset attempt and its retry');
    assert.deepEqual(result.attempts.map((x) => x.outcome), ['error', 'ok']);
    assert.equal(b.requests.length, 0);
    // Bedrock's client speaks HTTP/2: a reset stream is retried the same way.
    resetBreakers();
    const fallback = await route(() => overloaded, [{ fault: 'reset' }, { text: 'after a reset' }]);
    const second = await fallback.router.complete(request);
    assert.equal(second.provider, 'bedrock');
    assert.equal(fallback.b.requests.length, 2, 'the reset stream and its retry');
  });

  it('fails with every attempt when every target gives up', async () => {
    const { router } = await route([overloaded, overloaded, overloaded], [{ status: 503 }, { status: 503 }, { status: 503 }]);
    await assert.rejects(router.complete(request), (e: AllTargetsFailedError) => e instanceof AllTargetsFailedError && e.attempts.length === 6);
  });

  it('opens a target circuit after repeated failures, skips it while open, and closes it after a good trial', async () => {
    let clock = 0;
    const now = () => clock;
    const failing = Array.from({ length: 5 }, () => overloaded);
    const { router, a, b } = await route([...failing, { text: 'recovered' }], () => ({ text: 'fallback' }), { now, breaker: { window: 5, minimumCalls: 5, failureRate: 1, openMs: 30_000 }, retry: { ...DEFAULT_RETRY, maxAttempts: 5 } });
    // Five failures open the circuit; the run still succeeds on the fallback.
    assert.equal((await router.complete(request)).provider, 'bedrock');
    assert.equal(breakerFor('anthropic:claude-sonnet-4-6').state, 'open');
    // While open, the target is skipped without a request.
    const skipped = await router.complete(request);
    assert.equal(skipped.attempts[0]!.outcome, 'skipped-open-circuit');
    assert.equal(a.requests.length, 5);
    // After the open period one trial goes through; its success closes the circuit.
    clock += 30_000;
    const trial = await router.complete(request);
    assert.equal(trial.provider, 'anthropic');
    assert.equal(breakerFor('anthropic:claude-sonnet-4-6').state, 'closed');
    assert.equal(b.requests.length, 2);
  });
});

describe('backoff and breaker', () => {
  it('draws full jitter under an exponential cap', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };
    assert.equal(backoffMs(policy, 1, new Error('x'), () => 0.999), 99);
    assert.equal(backoffMs(policy, 3, new Error('x'), () => 0.5), 200);
    assert.equal(backoffMs(policy, 9, new Error('x'), () => 0.999), 999);
    assert.equal(backoffMs(policy, 1, new Error('x'), () => 0), 0);
    assert.equal(backoffMs(policy, 1, new ModelError('throttled', 'slow down', 429, 2_500), () => 0), 2_500);
  });

  it('lets a single trial through when half-open, and reopens on its failure', () => {
    let clock = 0;
    const breaker = new CircuitBreaker({ window: 2, minimumCalls: 2, failureRate: 1, openMs: 1_000 }, () => clock);
    breaker.failure();
    assert.equal(breaker.state, 'closed');
    breaker.failure();
    assert.equal(breaker.tryAcquire(), false);
    clock = 1_000;
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), false, 'one trial at a time');
    breaker.failure();
    assert.equal(breaker.state, 'open');
  });

  it('stays closed under a steady third of failures, runs of them included, and opens when nearly every call fails', () => {
    const breaker = new CircuitBreaker(DEFAULT_BREAKER, () => 0);
    // Six failures in a row amid successes: 30% of the window, not an outage.
    const calls = [...Array(7).fill(false), ...Array(6).fill(true), ...Array(7).fill(false)];
    for (const failed of calls) (failed ? breaker.failure() : breaker.success());
    assert.equal(breaker.state, 'closed');
    for (let i = 0; i < 15; i++) breaker.failure();
    assert.equal(breaker.state, 'closed', '15 of the last 20 failed: still under 80%');
    breaker.failure();
    assert.equal(breaker.state, 'open', '16 of the last 20 failed');
  });

  it('needs its minimum of calls before a rate counts', () => {
    const breaker = new CircuitBreaker({ window: 20, minimumCalls: 10, failureRate: 0.8, openMs: 1_000 }, () => 0);
    for (let i = 0; i < 9; i++) breaker.failure();
    assert.equal(breaker.state, 'closed');
    breaker.failure();
    assert.equal(breaker.state, 'open');
  });
});
