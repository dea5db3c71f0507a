import type { AgentEventDetail, AgentEventType } from '../../../contract/events/agent-events';

export { AGENT_EVENT_SOURCE, type AgentEventDetail, type AgentEventType } from '../../../contract/events/agent-events';

/** Publishes agent events: EventBridge on AWS, Event Grid on Azure. */
export interface EventPublisher {
  publish(type: AgentEventType, detail: AgentEventDetail): Promise<void>;
}

/** Publishes nowhere, for agents without a bus. */
export const NO_EVENTS: EventPublisher = { publish: async () => {} };

/** Keeps events in memory: for tests and local runs. */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: { type: AgentEventType; detail: AgentEventDetail }[] = [];

  async publish(type: AgentEventType, detail: AgentEventDetail): Promise<void> {
    this.events.push({ type, detail });
  }
}
