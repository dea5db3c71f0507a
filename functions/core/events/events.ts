import type { ValidationReport } from '../output/validate';
import type { Usage } from '../models/types';
import type { RunStopReason } from '../audit/records';

/** The source of every agent event on the bus. */
export const AGENT_EVENT_SOURCE = 'serverless-agents';

export type AgentEventType = 'run.completed' | 'run.failed' | 'handoff';

/**
 * The one detail schema of every agent event (EventBridge `detail`), documented in
 * docs/runtime.md. Fields that don't apply to an event type are left out.
 */
export interface AgentEventDetail {
  readonly version: 1;
  readonly runId: string;
  readonly jobId?: string;
  readonly agent: string;
  readonly cohort: string;
  readonly trigger: string;
  readonly promptVersion: string;
  readonly definitionVersion: string;
  readonly stopReason?: RunStopReason;
  readonly output?: string;
  readonly structuredOutput?: unknown;
  readonly error?: string;
  readonly validation?: ValidationReport;
  readonly usage?: Usage;
  readonly costUsd?: number;
  /** For `handoff`: the agent asked to continue, and what it is asked. */
  readonly handoff?: { readonly to: string; readonly input: string };
}

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
