import { EventGridPublisherClient, type SendEventGridEventInput } from '@azure/eventgrid';
import type { AgentEventDetail, AgentEventType, EventPublisher } from '../core/events/events';
import { AGENT_EVENT_SOURCE } from '../core/events/events';

/**
 * Agent events on an Event Grid topic, in the Event Grid schema: the event type is the agent event
 * type, the subject names the agent and run, and the data is the same detail schema as on AWS.
 */
export class EventGridPublisher implements EventPublisher {
  constructor(private readonly client: EventGridPublisherClient<'EventGrid'>) {}

  async publish(type: AgentEventType, detail: AgentEventDetail): Promise<void> {
    const event: SendEventGridEventInput<AgentEventDetail> = {
      eventType: type,
      subject: `${AGENT_EVENT_SOURCE}/agents/${detail.agent}/runs/${detail.runId}`,
      dataVersion: String(detail.version),
      data: detail,
    };
    await this.client.send([event]);
  }
}
