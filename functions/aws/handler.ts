import { AGENT_CONFIG_ENV, decodeAgentConfig, type AgentRuntimeConfig } from '../../constructs/definition/encoding';
import { verifyAgentDefinition } from '../../constructs/definition/define';

/**
 * The Lambda entry point of every agent. It reads the agent's configuration once per cold start and
 * tells the kind of event it was given. Running the agent itself is the runtime's job and is not
 * part of this build: API calls are answered 501 and queued messages are handed back to their
 * queue, so no work is lost before the runtime ships.
 */

const config: AgentRuntimeConfig = loadConfig();

function loadConfig(): AgentRuntimeConfig {
  const encoded = process.env[AGENT_CONFIG_ENV];
  if (!encoded) throw new Error(`${AGENT_CONFIG_ENV} is not set: this function must be deployed by AgentFunction`);
  const decoded = decodeAgentConfig(encoded);
  // The definition was checked at synth; checking it again catches a hand-edited environment.
  return { ...decoded, definition: verifyAgentDefinition(decoded.definition) };
}

interface SqsEvent {
  Records: { messageId: string; eventSource: string }[];
}

type AgentEvent = SqsEvent | Record<string, unknown>;

function isSqsEvent(event: AgentEvent): event is SqsEvent {
  return Array.isArray((event as SqsEvent).Records) && (event as SqsEvent).Records[0]?.eventSource === 'aws:sqs';
}

export async function handler(event: AgentEvent) {
  if (isSqsEvent(event)) {
    return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
  }
  return {
    statusCode: 501,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: `agent "${config.definition.name}" is deployed, but this build does not include the agent runtime` }),
  };
}
