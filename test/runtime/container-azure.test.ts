import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { defineAgent } from '../../contract/definition';
import { MemoryEventPublisher } from '../../functions/core/events/events';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { ModelError, type ModelProvider, type ModelRequest } from '../../functions/core/models/types';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { ServiceBusQueueSource, type ServiceBusQueue } from '../../functions/container/azure';
import { ContainerHost } from '../../functions/container/host';
import { containerSetting, startContainer } from '../../functions/container/start';
import { CONTAINER_ENV } from '../../contract/config/settings';
import { assembleRuntime } from '../../functions/entry/assemble';
import { agentInput } from '../helpers';
import { toResponse } from '../__fixtures__/scripted-provider';
import { join } from 'node:path';
import { containerContextDir } from '../../constructs/bundle/container-image';
import { AGENT_CONFIG_ENV, encodeAgentConfig } from '../../contract/config/runtime-config';
import { startContainerProcess } from '../__fixtures__/container-process';

/**
 * The container host's Azure side, in process: the queue handler the Function App runs, fed by the
 * host through ServiceBusQueueSource. There is no Service Bus emulator without Docker, so the
 * receiver and sender are recording stand-ins of the SDK's; everything behind them is real.
 */
function serviceBus(messages: Partial<ServiceBusReceivedMessage>[], options: { failedReceives?: number } = {}) {
  const waiting = [...messages];
  const calls: string[] = [];
  const sent: unknown[] = [];
  let failures = options.failedReceives ?? 0;
  const queue: ServiceBusQueue = {
    receiver: {
      receiveMessages: async (max: number) => {
        await new Promise((r) => setTimeout(r, 20));
        if (failures-- > 0) throw new Error('the namespace is unreachable');
        return waiting.splice(0, max) as ServiceBusReceivedMessage[];
      },
      completeMessage: async (m: ServiceBusReceivedMessage) => void calls.push(`complete ${String(m.messageId)}`),
      abandonMessage: async (m: ServiceBusReceivedMessage) => void calls.push(`abandon ${String(m.messageId)}`),
      close: async () => void calls.push('receiver closed'),
    } as unknown as ServiceBusQueue['receiver'],
    sender: {
      sendMessages: async (m: unknown) => void (sent.push(m), calls.push('send')),
      close: async () => void calls.push('sender closed'),
    } as unknown as ServiceBusQueue['sender'],
  };
  return { queue, calls, sent };
}

/** A model that hangs until its call is aborted, then answers every later call. */
class HangingOnce implements ModelProvider {
  readonly provider = 'bedrock';
  readonly model = 'research-model';
  calls = 0;
  async complete(_request: ModelRequest, signal?: AbortSignal) {
    if (++this.calls === 1) {
      return new Promise<never>((_resolve, reject) => signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true }));
    }
    return toResponse({ text: 'The report is ready.' }, this.calls);
  }
}

async function runtime(provider: ModelProvider) {
  const definition = defineAgent(agentInput({ name: 'research', placement: 'container', triggers: [{ type: 'queue' }], model: { provider: 'bedrock', model: 'research-model' } }));
  const jobs = new MemoryJobStore();
  const rt = await assembleRuntime({ definition, route: [{ provider: 'bedrock', model: 'research-model' }] }, { jobs, events: new MemoryEventPublisher(), metrics: new MemoryMetrics(), secret: async () => 'unused', providers: { bedrock: async () => provider } });
  return { rt, jobs };
}

const job = (id: string): Partial<ServiceBusReceivedMessage> => ({ messageId: `m-${id}`, deliveryCount: 1, body: { jobId: id, agent: 'research', input: 'Survey the field.' }, applicationProperties: { origin: 'test' } });

describe('the container entry on Azure: Service Bus through the Function App\'s queue handler', () => {
  it('runs a job and completes its message; stopped mid-run, hands a copy back and completes the original', async () => {
    const provider = new HangingOnce();
    const { rt, jobs } = await runtime(provider);
    const bus = serviceBus([job('one')]);
    const source = new ServiceBusQueueSource(bus.queue, rt.config, async () => rt, { maxDeliveries: 5 });
    const host = new ContainerHost({ queue: source, port: 0, host: '127.0.0.1', graceMs: 50, log: () => {} });
    await host.start();
    while (provider.calls === 0) await new Promise((r) => setTimeout(r, 10));
    await host.stop('test');
    // Interrupted: back on the queue as a fresh copy (a new message id), the original completed.
    assert.deepEqual(bus.calls, ['send', 'complete m-one', 'receiver closed', 'sender closed']);
    assert.deepEqual(bus.sent, [{ body: job('one').body, applicationProperties: { origin: 'test' } }]);
    const record = (await jobs.get('one'))!;
    assert.equal(record.status, 'queued');
    assert.match(record.error!, /the host stopped before the run ended/);

    // The copy, delivered to the next container, runs to the end.
    const next = serviceBus([{ ...job('one'), messageId: 'm-copy' }]);
    const again = new ContainerHost({ queue: new ServiceBusQueueSource(next.queue, rt.config, async () => rt, { maxDeliveries: 5 }), port: 0, host: '127.0.0.1', log: () => {} });
    await again.start();
    while ((await jobs.get('one'))?.status !== 'succeeded') await new Promise((r) => setTimeout(r, 10));
    await again.stop('test');
    assert.deepEqual(next.calls, ['complete m-copy', 'receiver closed', 'sender closed']);
    assert.equal((await jobs.get('one'))!.output, 'The report is ready.');
  });

  it('abandons a message whose run fails on its last delivery, records it dead-lettered, and completes a malformed one as failed; a failed receive is tried again', async () => {
    const down: ModelProvider = { provider: 'bedrock', model: 'research-model', complete: async () => Promise.reject(new ModelError('overloaded', 'overloaded', 529)) };
    const { rt, jobs } = await runtime(down);
    const bus = serviceBus([job('two'), { messageId: 'm-bad', deliveryCount: 1, body: { jobId: 'bad', agent: 'research', input: '' } }], { failedReceives: 1 });
    const lines: Record<string, unknown>[] = [];
    // Its last delivery: Service Bus dead-letters an abandoned message now.
    const host = new ContainerHost({ queue: new ServiceBusQueueSource(bus.queue, rt.config, async () => rt, { maxDeliveries: 1 }), port: 0, host: '127.0.0.1', concurrency: 2, log: (l) => lines.push(l) });
    await host.start();
    while (!bus.calls.includes('abandon m-two') || !bus.calls.includes('complete m-bad')) await new Promise((r) => setTimeout(r, 10));
    await host.stop('test');
    assert.ok(lines.some((l) => l.message === 'receiving from the queue failed; trying again' && l.error === 'the namespace is unreachable'));
    assert.ok(lines.some((l) => l.message === 'run failed; the queue delivers the message again' && l.messageId === 'm-two'));
    const failed = (await jobs.get('two'))!;
    assert.deepEqual([failed.status, failed.stopReason], ['dead_lettered', 'model_unavailable']);
    const bad = (await jobs.get('bad'))!;
    assert.equal(bad.status, 'failed');
    assert.match(bad.error!, /the job's body is invalid/);
    assert.deepEqual(bus.sent, [], 'nothing handed back: neither run was interrupted');
  });

});

describe('the container host\'s settings', () => {
  it('refuses a container setting that is not a whole number, naming it, before it takes any work', async () => {
    await assert.rejects(startContainer({}, { [CONTAINER_ENV.concurrency]: 'many' }), /AGENT_CONCURRENCY must be a whole number of at least 1; got "many"/);
    await assert.rejects(startContainer({}, { [CONTAINER_ENV.concurrency]: '0' }), /AGENT_CONCURRENCY must be a whole number of at least 1; got "0"/);
    assert.throws(() => containerSetting(CONTAINER_ENV.graceSeconds, { [CONTAINER_ENV.graceSeconds]: '2.5' }), /AGENT_SHUTDOWN_GRACE_SECONDS must be a whole number of at least 0; got "2.5"/);
    assert.equal(containerSetting(CONTAINER_ENV.queueWaitSeconds, {}), undefined);
  });
});

describe('the Azure container bundle, started as the image starts it', () => {
  it('loads without the Functions worker, answers /ping, serves no invocations (Azure calls reach functions), and stops on SIGTERM', async () => {
    const entry = join(containerContextDir('azure'), 'container.mjs');
    const config = encodeAgentConfig({ definition: defineAgent(agentInput({ placement: 'container', triggers: [{ type: 'queue' }] })), route: [{ provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'anthropic-api-key' }], prices: {} });
    const container = await startContainerProcess(entry, { [AGENT_CONFIG_ENV]: config });
    const ping = await fetch(`${container.url}/ping`);
    assert.equal(ping.status, 200);
    assert.equal(((await ping.json()) as { status: string }).status, 'Healthy');
    const invoke = await fetch(`${container.url}/invocations`, { method: 'POST', body: JSON.stringify({ input: 'hello' }) });
    assert.equal(invoke.status, 404);
    assert.equal(await container.signal('SIGTERM'), 0);
  });
});
