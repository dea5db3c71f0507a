import type { AgentRuntimeConfig, Cloud } from '../../contract/config/runtime-config';
import { OPEN_TOOL_POLICY } from '../../contract/policy/tool-denial';
import { Agent } from '../core/agent/agent';
import type { AuditSink } from '../core/audit/records';
import type { AgentDelegates } from '../core/chain/chain';
import type { TaskInbox } from '../core/chain/inbox';
import type { DurableStore } from './checkpoints';
import { NO_EVENTS, type EventPublisher } from '../core/events/events';
import type { JobStore } from '../core/jobs/jobs';
import { PORTABLE_PROVIDERS, providerFactory, type ProviderLoaders } from '../core/models/providers';
import { ModelRouter, type ProviderFactory } from '../core/models/router';
import { AgentSkills } from '../core/skills/skills';
import { CachedSkillStore, type SkillStore } from '../core/skills/store';
import type { MetricsSink } from '../core/telemetry/metrics';
import type { Transports } from '../core/tools/executor';
import { FunctionToolTransport } from '../core/tools/function';
import { HttpToolTransport } from '../core/tools/http';
import { McpToolTransport } from '../core/tools/mcp';
import type { FunctionInvoker } from '../core/tools/types';

/** What a cloud (or a laptop) gives the runtime: its own services behind the core's ports. */
export interface RuntimeAdapters {
  /** Where the agent's skills are read. Omitted: an agent that lists skills fails to start. */
  readonly skills?: SkillStore;
  /** Where agent events go. Omitted: nowhere, and the agent gets no `handoff` tool. */
  readonly events?: EventPublisher;
  /** Where audit records go besides the logs. */
  readonly audit?: AuditSink;
  /** Where job status is kept, for queued runs. */
  readonly jobs?: JobStore;
  readonly metrics: MetricsSink;
  /** An API key by name, from the cloud's secret store. */
  readonly secret: (name: string) => Promise<string>;
  /** Model providers this cloud adds to the portable ones (Bedrock on AWS). */
  readonly providers?: ProviderLoaders;
  /** How the agent reaches the agents it delegates and hands off to. Omitted: it cannot. */
  readonly delegates?: AgentDelegates;
  /** Where large task inputs wait, for this agent and the agents it sends tasks to. */
  readonly inbox?: TaskInbox;
  /** Where a durable run keeps what is too large for a checkpoint, and its engine's handles. */
  readonly durable?: DurableStore;
  /** Invokes function tools (Lambda on AWS). Omitted: function tools answer that they are unavailable. */
  readonly functions?: FunctionInvoker;
  /** The cloud the runtime runs on: spend on models it does not bill is counted as external too. */
  readonly cloud?: Cloud;
  /** Builds providers and tools differently, for replays and recordings. */
  readonly replace?: { readonly providers?: (live: ProviderFactory) => ProviderFactory; readonly transports?: (live: Transports) => Transports };
}

/** One process's agent and what its entry points use around it, built once and kept warm. */
export interface Runtime {
  readonly config: AgentRuntimeConfig;
  readonly agent: Agent;
  readonly events: EventPublisher;
  readonly jobs?: JobStore;
  /** Where inputs too large for a task message wait. */
  readonly inbox?: TaskInbox;
  /** Where a durable run keeps what is too large for a checkpoint, and its engine's handles. */
  readonly durable?: DurableStore;
  /** Ends open tool sessions (MCP), for processes that exit. */
  close(): Promise<void>;
}

/**
 * Builds the agent a config describes, with the ports a cloud's adapters provide. The one place
 * an agent is put together: the Lambda handler, the Functions handlers and the local runner all
 * call it, so they run the same agent.
 */
export async function assembleRuntime(config: AgentRuntimeConfig, adapters: RuntimeAdapters): Promise<Runtime> {
  const { definition } = config;
  const skills = await AgentSkills.open(new CachedSkillStore(adapters.skills ?? { read: async () => undefined }), definition.skills);
  const mcp = new McpToolTransport();
  const live: Transports = {
    http: new HttpToolTransport(definition.tools.flatMap((t) => (t.kind === 'http' ? [new URL(t.url).host] : []))),
    mcp,
    ...(adapters.functions && { function: new FunctionToolTransport(adapters.functions) }),
  };
  const providers = providerFactory({ ...PORTABLE_PROVIDERS, ...adapters.providers }, adapters.secret);
  const events = adapters.events ?? NO_EVENTS;
  const agent = new Agent(definition, {
    router: new ModelRouter(config.route, adapters.replace?.providers?.(providers) ?? providers),
    skills,
    transports: adapters.replace?.transports?.(live) ?? live,
    audit: adapters.audit ?? { write: async () => {} },
    metrics: adapters.metrics,
    prices: config.prices ?? {},
    toolPolicy: config.toolPolicy ?? OPEN_TOOL_POLICY,
    ...(adapters.cloud && { cloud: adapters.cloud }),
    ...(adapters.events && { events }),
    ...(adapters.delegates && { delegates: adapters.delegates }),
  });
  return { config, agent, events, ...(adapters.jobs && { jobs: adapters.jobs }), ...(adapters.inbox && { inbox: adapters.inbox }), ...(adapters.durable && { durable: adapters.durable }), close: () => mcp.close() };
}
