import { contentDigest } from '../digest/content';
import type { RunStopReason, Usage, ValidationReport } from '../runs/results';

/**
 * What travels with every delegation and hand-off between agents, on both clouds: the chain it
 * belongs to, the run that caused it, how far it has come and what it may still spend. The sender
 * writes it; the receiver checks it before running anything, and runs within what it allows.
 */

/**
 * The built-in tool through which the model hands the conversation to one of the agent's handoffs.
 * Here rather than beside the schema, so the runtime names it without loading the schema's zod.
 */
export const HANDOFF_TOOL = 'handoff';

/** How a task reached its agent: called as a tool and awaited (`call`, `job`), or handed the conversation (`handoff`). */
export type TaskKind = 'call' | 'job' | 'handoff';

export interface ChainEnvelope {
  /** The whole conversation: the run id of the run that started the chain. */
  readonly correlationId: string;
  /** The run that sent this task. */
  readonly causationId: string;
  /** Hops from the run that started the chain: its first delegation or hand-off is hop 1. */
  readonly hop: number;
  /** The smallest hop limit along the chain so far. */
  readonly maxHops: number;
  /** When the task's run must have ended (epoch ms): the caller's deadline, or the chain's. */
  readonly deadline: number;
  /** What the chain may still spend, shared by every hop rather than reset at each. */
  readonly budget: { readonly costUsd: number; readonly tokens: number };
  /** The tenant the chain serves: the cohort of the agent that started it. */
  readonly cohort: string;
  /** W3C trace context of the sending run, so one trace spans every agent. */
  readonly traceparent?: string;
  /** The agents the chain has passed through, in order, the sender last. */
  readonly path: readonly string[];
}

/** One delegation or hand-off: the task, its target and its envelope. */
export interface AgentTask {
  readonly version: 1;
  readonly kind: TaskKind;
  readonly from: string;
  readonly to: string;
  /** The run the task starts on its target: the same for every delivery of the same task. */
  readonly runId: string;
  /** The target's prompt; absent when it travels by reference (`inputRef`). */
  readonly input?: string | Record<string, unknown>;
  /** Where the input waits in the target's inbox, when it was too large to travel in the message. */
  readonly inputRef?: string;
  readonly chain: ChainEnvelope;
}

/** What a called agent answers its caller, on both clouds: the run's ending and what it cost. */
export interface TaskResult {
  readonly runId: string;
  readonly agent: string;
  readonly status: 'succeeded' | 'failed' | 'refused';
  readonly stopReason?: RunStopReason;
  readonly output?: string;
  readonly structuredOutput?: unknown;
  readonly validation?: ValidationReport;
  readonly usage?: Usage;
  readonly costUsd?: number;
  readonly error?: string;
}

/**
 * A task's run id names the effect: the run that sent it, the target, the kind and the input in
 * canonical JSON. A sender redelivered after a crash that sends the same task sends the same id,
 * and the target runs it once; two different tasks to the same agent in one run are two runs.
 */
export const taskRunId = (causationId: string, kind: TaskKind, to: string, input: unknown) => `task-${contentDigest(causationId, kind, to, input)}`;

/**
 * The event type a hand-off or a job is published with: the target in the type, so a sender's
 * grant names exactly the events it may publish and each target's rule matches its own.
 */
export const taskEventType = (kind: Exclude<TaskKind, 'call'>, to: string) => `${kind === 'handoff' ? 'handoff' : 'delegation'}.to.${to}`;

/**
 * The event type a hand-off's or job's run reports its ending with, to the agent that sent it:
 * the sender in the type, so the run's grant names exactly whom it may report to and the sender's
 * rule takes its own. Its detail is the run's `run.completed` or `run.failed` detail.
 */
export const resultEventType = (to: string): `result.to.${string}` => `result.to.${to}`;

/** The largest task message sent whole; larger inputs travel by reference (Service Bus Standard takes 256 KB, envelope included). */
export const TASK_MESSAGE_LIMIT = 192 * 1024;

/** Why a task is refused before anything runs. */
export type RefusalReason = 'max_hops' | 'loop' | 'chain_deadline' | 'not_allowed' | 'budget';

export interface Refusal {
  readonly reason: RefusalReason;
  readonly message: string;
}

/**
 * Whether a hop from the last agent of `chain.path` to `to` may go ahead. Refused: past the hop
 * limit; a hand-off or call along an edge the chain already took (A to B, back to A, then A to B
 * again is a loop two agents would keep up until a limit stopped them); a chain past its deadline;
 * a chain with nothing left to spend.
 */
export function hopRefusal(chain: Pick<ChainEnvelope, 'hop' | 'maxHops' | 'deadline' | 'budget' | 'path'>, to: string, now = Date.now()): Refusal | undefined {
  if (chain.hop > chain.maxHops) return { reason: 'max_hops', message: `the chain has reached its limit of ${chain.maxHops} hop${chain.maxHops === 1 ? '' : 's'}` };
  const path = chain.path;
  const from = path.at(-1);
  for (let i = 0; i + 1 < path.length; i++) {
    if (path[i] === from && path[i + 1] === to) return { reason: 'loop', message: `the chain already went from ${from} to ${to} (${path.join(' → ')}); going again would loop` };
  }
  if (chain.deadline <= now) return { reason: 'chain_deadline', message: 'the chain is past its deadline' };
  if (chain.budget.costUsd <= 0 || chain.budget.tokens <= 0) return { reason: 'budget', message: 'the chain has spent its budget' };
  return undefined;
}

/** A W3C `traceparent`: version 00, a trace id, the parent span id, the flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(value: string | undefined): { traceId: string; spanId: string; flags: number } | undefined {
  const match = value ? TRACEPARENT.exec(value) : null;
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, flags: parseInt(match[3]!, 16) };
}

export const formatTraceparent = (traceId: string, spanId: string, flags: number) => `00-${traceId}-${spanId}-${flags.toString(16).padStart(2, '0')}`;

/** What a receiver needs of a task to decide: is it well formed, and from this agent's caller? */
export function taskProblem(value: unknown): string | undefined {
  const t = value as Partial<AgentTask> | undefined;
  if (!t || typeof t !== 'object') return 'a task must be an object';
  if (t.version !== 1) return 'version: must be 1';
  if (t.kind !== 'call' && t.kind !== 'job' && t.kind !== 'handoff') return 'kind: must be call, job or handoff';
  for (const field of ['from', 'to', 'runId'] as const) if (typeof t[field] !== 'string' || !t[field]) return `${field}: must be text`;
  if (t.input === undefined && typeof t.inputRef !== 'string') return 'input: is required (or inputRef)';
  const c = t.chain as Partial<ChainEnvelope> | undefined;
  if (!c || typeof c !== 'object') return 'chain: is required';
  for (const field of ['correlationId', 'causationId', 'cohort'] as const) if (typeof c[field] !== 'string' || !c[field]) return `chain.${field}: must be text`;
  for (const field of ['hop', 'maxHops', 'deadline'] as const) if (typeof c[field] !== 'number' || !Number.isFinite(c[field])) return `chain.${field}: must be a number`;
  if (!c.budget || typeof c.budget.costUsd !== 'number' || typeof c.budget.tokens !== 'number') return 'chain.budget: must have costUsd and tokens';
  if (!Array.isArray(c.path) || !c.path.every((p) => typeof p === 'string')) return 'chain.path: must be a list of agent names';
  return undefined;
}

/** Whether a value is a task (a delegation or hand-off), as a queue or a direct invocation delivers it. */
export const isAgentTask = (value: unknown): value is AgentTask => (value as Partial<AgentTask> | undefined)?.version === 1 && typeof (value as Partial<AgentTask>).chain === 'object' && typeof (value as Partial<AgentTask>).kind === 'string';
