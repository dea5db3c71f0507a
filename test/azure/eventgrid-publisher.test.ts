import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { EventGridPublisher } from '../../functions/azure/eventgrid-publisher';
import { startLoopback, type LoopbackServer } from '../__fixtures__/loopback';

let topic: LoopbackServer | undefined;
after(async () => topic?.close());

describe('the Event Grid publisher', () => {
  it('sends an agent event in the Event Grid schema through the real client', async () => {
    topic = await startLoopback(() => ({ status: 200, body: '' }));
    // Loopback is plain http; in Azure the topic is https and the credential the managed identity.
    const client = new EventGridPublisherClient(`${topic.url}/api/events`, 'EventGrid', new AzureKeyCredential('test-key'), { allowInsecureConnection: true });
    await new EventGridPublisher(client).publish('run.completed', {
      version: 1,
      runId: 'run-1',
      agent: 'support',
      cohort: 'support',
      trigger: 'job',
      promptVersion: 'p',
      definitionVersion: 'd',
      stopReason: 'end_turn',
      output: 'done',
    });
    const [request] = topic.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.headers['aeg-sas-key'], 'test-key');
    const [event] = request!.body as { eventType: string; subject: string; dataVersion: string; data: { runId: string }; id: string; eventTime: string }[];
    assert.equal(event!.eventType, 'run.completed');
    assert.equal(event!.subject, 'serverless-agents/agents/support/runs/run-1');
    assert.equal(event!.dataVersion, '1');
    assert.equal(event!.data.runId, 'run-1');
    assert.ok(event!.id && event!.eventTime);
  });
});
