import { EventGridPublisherClient, type SendEventGridEventInput } from '@azure/eventgrid';
import { eventSubject, type AgentEventDetail, type AgentEventType } from '../../contract/events/agent-events';
import type { EventPublisher } from '../core/events/events';

/**
 * Agent events on an Event Grid topic, in the Event Grid schema: the event type is the agent event
 * type, the subject names the agent and run, and the data is the same detail schema as on AWS.
 */
export class EventGridPublisher implements EventPublisher {
  constructor(private readonly client: EventGridPublisherClient<'EventGrid'>) {}

  async publish(type: AgentEventType, detail: AgentEventDetail): Promise<void> {
    const event: SendEventGridEventInput<AgentEventDetail> = {
      eventType: type,
      subject: eventSubject(detail.agent, detail.runId),
      dataVersion: String(detail.version),
      data: detail,
    };
    await this.client.send([event]);
  }
}
