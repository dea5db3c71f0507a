/**
 * Where an agent runs (roadmap stage 3). Every placement runs the same runtime from the same
 * definition and shares the platform's queues, bus, skills, state and audit; what differs is what
 * the host allows, so a definition is checked against its placement's limits before anything is
 * synthesized. Kept apart from the schema so the constructs and docs read the same table.
 */

export const PLACEMENTS = ['function', 'container', 'agentcore'] as const;
export type Placement = (typeof PLACEMENTS)[number];

type TriggerType = 'api' | 'job' | 'queue' | 'schedule' | 'event';

export interface PlacementLimits {
  /** What the placement is for, in a sentence: the validation messages quote it. */
  readonly summary: string;
  /** The longest run, in seconds, for an agent that is not durable. */
  readonly runSeconds: number;
  /** The longest run of a durable agent, when the placement can run durably. */
  readonly durableRunSeconds?: number;
  /** How long one synchronous request may take, when the placement answers requests. */
  readonly requestLimit: string;
  /** Triggers the placement serves. */
  readonly triggers: readonly TriggerType[];
  /** Whether another agent may call it synchronously as a tool (`mode: call`). */
  readonly takesCalls: boolean;
  /** Whether hand-offs and jobs from other agents reach it (through its queue). */
  readonly takesTasks: boolean;
  /** The clouds this version deploys it on. */
  readonly clouds: readonly ('aws' | 'azure')[];
}

/** Seconds a container keeps one message: SQS's longest visibility timeout, 12 hours, which Service Bus lock renewal matches. */
export const CONTAINER_RUN_MAX_SECONDS = 43_200;
/** Seconds an AgentCore Runtime session may last: 8 hours. */
export const AGENTCORE_RUN_MAX_SECONDS = 28_800;
/** Seconds AgentCore Runtime waits for a synchronous answer to `POST /invocations`: 15 minutes. */
export const AGENTCORE_REQUEST_MAX_SECONDS = 900;

export const PLACEMENT_LIMITS: Readonly<Record<Placement, PlacementLimits>> = {
  function: {
    summary: 'short, bursty runs on Lambda or Azure Functions, scaled per request and paid per use',
    runSeconds: 900,
    durableRunSeconds: 31_536_000,
    requestLimit: "the API's integration timeout: 29 s on API Gateway unless raised, 230 s on Azure",
    triggers: ['api', 'job', 'queue', 'schedule', 'event'],
    takesCalls: true,
    takesTasks: true,
    clouds: ['aws', 'azure'],
  },
  container: {
    summary: 'long, memory-hungry or steady work taken from the agent queue by containers on ECS Fargate or Azure Container Apps, scaled on queue depth down to zero',
    runSeconds: CONTAINER_RUN_MAX_SECONDS,
    requestLimit: 'none: a container agent takes its work from its queue, and answers no request from the API',
    // On Azure, schedules are the Functions host's timers: AzureAgentContainer refuses them (see its docs).
    triggers: ['queue', 'schedule', 'event'],
    takesCalls: false,
    takesTasks: true,
    clouds: ['aws', 'azure'],
  },
  agentcore: {
    summary: 'sessions on Amazon Bedrock AgentCore Runtime, invoked with IAM-signed InvokeAgentRuntime requests',
    runSeconds: AGENTCORE_RUN_MAX_SECONDS,
    requestLimit: `${AGENTCORE_REQUEST_MAX_SECONDS} s for one InvokeAgentRuntime request`,
    triggers: ['api'],
    takesCalls: false,
    takesTasks: false,
    clouds: ['aws'],
  },
};

/** The longest run a placement allows an agent. */
export function maxRunSeconds(placement: Placement, durable: boolean): number {
  const limits = PLACEMENT_LIMITS[placement];
  return durable && limits.durableRunSeconds ? limits.durableRunSeconds : limits.runSeconds;
}
