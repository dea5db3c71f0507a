import Ajv2020 from 'ajv/dist/2020';
import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { defineAgent, type AgentDefinition } from '../../contract/definition/define';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import type { JobRecord } from '../../contract/jobs/job-record';
import { startLoopback, type LoopbackServer } from '../../test/__fixtures__/loopback';
import type { FakeReply } from '../../test/__fixtures__/model-fakes';

/**
 * The fault run's workload, the same on both clouds: the example support agent triaging tickets
 * while about 30% of model calls fail, its two HTTP tools on loopback, and what counts as a right
 * ending. Randomness is seeded (`FAULT_SEED`), so a run can be repeated.
 */

export const JOBS = Number(process.env.FAULT_JOBS ?? 1000);
/** Deliveries before the queue dead-letters a message: the example AgentQueue's maxReceiveCount. */
export const MAX_RECEIVES = 3;
/** How long one model call may take before the router moves on, in the bench's router. */
export const ATTEMPT_TIMEOUT_SECONDS = 2;
/** The run limit of the bench's agent: the example's 120 s would only make hung calls slower. */
export const RUN_TIMEOUT_SECONDS = 30;
/** Share of finished jobs the queue delivers once more, later, as at-least-once delivery does. */
export const LATE_DUPLICATES = 0.05;
/** Share of jobs delivered twice at the same moment. */
export const CONCURRENT_DUPLICATES = 0.02;
/** Share of jobs whose model answers with output the rules refuse, even when asked to repair. */
export const INVALID_OUTPUT = 0.03;
/** Share of jobs that meet every model target down on every delivery: a long outage. */
export const OUTAGE = 0.01;

/** Seeded PRNG (mulberry32), one stream per process. */
let seed = Number(process.env.FAULT_SEED ?? 20261201) >>> 0;
export function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** The fault mix of model calls: about 30% in all. */
export const FAULTS = [
  { name: '429 throttled', share: 0.08 },
  { name: 'overloaded (503 Bedrock, 529 Anthropic)', share: 0.06 },
  { name: '500', share: 0.06 },
  { name: 'connection reset', share: 0.05 },
  { name: 'hang (never answers)', share: 0.05 },
] as const;

export const jobInput = (n: number) => `[job ${n}] Customer says order ord_${String(n).padStart(8, '0')} was charged twice; they want a refund.`;
const JOB_TAG = /\[job (\d+)\]/;
const TICKET_OPENED = 'TICKET_OPENED';
const ORDER_FOUND = 'ORDER_FOUND';

/** What the model fakes saw and did, per job. */
export const modelCalls = new Map<number, number>();
export const faultsInjected = new Map<string, number>();

/**
 * One model turn for a request, the same rules for either API: a fault ~30% of the time;
 * otherwise the next step of the job's path. A job's path is chosen afresh at its first step, so
 * a retried run may look the order up first or open the ticket at once, and the ticket's input
 * comes with its keys in a random order: the same effect asked for differently.
 */
export function modelTurn(body: unknown, overloaded: number): FakeReply {
  const messages = JSON.stringify((body as { messages?: unknown }).messages ?? '');
  const job = Number(JOB_TAG.exec(messages)?.[1] ?? -1);
  modelCalls.set(job, (modelCalls.get(job) ?? 0) + 1);
  if (inOutage(job)) {
    faultsInjected.set('outage (every call of 1% of jobs)', (faultsInjected.get('outage (every call of 1% of jobs)') ?? 0) + 1);
    return { status: overloaded };
  }
  const roll = random();
  let edge = 0;
  for (const fault of FAULTS) {
    edge += fault.share;
    if (roll < edge) {
      faultsInjected.set(fault.name, (faultsInjected.get(fault.name) ?? 0) + 1);
      if (fault.name === 'connection reset') return { fault: 'reset' };
      if (fault.name === 'hang (never answers)') return { fault: 'hang' };
      return { status: fault.name === '429 throttled' ? 429 : fault.name === '500' ? 500 : overloaded };
    }
  }
  if (messages.includes(TICKET_OPENED)) return { text: JSON.stringify(triage(job)) };
  if (messages.includes(ORDER_FOUND) || random() < 0.5) return { toolUses: [{ name: 'create_ticket', input: ticketInput(job) }] };
  return { toolUses: [{ name: 'lookup_order', input: { orderId: `ord_${String(job).padStart(8, '0')}` } }] };
}

function ticketInput(job: number): Record<string, unknown> {
  const fields: [string, unknown][] = [
    ['team', 'billing'],
    ['severity', 'sev3'],
    ['summary', `Duplicate charge on order ord_${String(job).padStart(8, '0')} (job ${job})`],
  ];
  for (let i = fields.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  return Object.fromEntries(fields);
}

/** A fixed share of jobs, chosen by job number (Knuth's multiplicative hash), the same on every run. */
const share = (job: number, salt: number) => ((((job + salt) * 2654435761) >>> 0) / 4294967296);
/** Whether a job's model always breaks the output rules (a due date in the past). */
const refusesRules = (job: number) => share(job, 0) < INVALID_OUTPUT;
const inOutage = (job: number) => share(job, 7919) < OUTAGE;

function triage(job: number) {
  const due = refusesRules(job) ? '2020-01-01T00:00:00Z' : new Date(Date.now() + 3 * 86_400_000).toISOString();
  return { category: 'billing', severity: 'sev3', summary: `Duplicate charge (job ${job})`, nextAction: 'escalate', team: 'billing', dueBy: due, confidence: 0.9 };
}

/** The agent's two HTTP tools on loopback; the ticket service counts effects per idempotency key. */
export interface ToolServices {
  readonly orders: LoopbackServer;
  readonly tickets: LoopbackServer;
  /** Idempotency key -> the job it was for and how many requests carried it. */
  readonly effects: Map<string, { job: number; requests: number }>;
  /** Ticket requests without a key: each is an effect nobody can deduplicate. */
  readonly unkeyed: number[];
}

export async function startToolServices(): Promise<ToolServices> {
  const effects = new Map<string, { job: number; requests: number }>();
  const unkeyed: number[] = [];
  const orders = await startLoopback((request) => ({ status: 200, body: { marker: ORDER_FOUND, order: (request.body as { orderId?: string }).orderId, amount: 42, currency: 'EUR', status: 'charged twice' } }));
  const tickets = await startLoopback((request) => {
    const key = request.headers['idempotency-key'];
    const job = Number(/\(job (\d+)\)/.exec(JSON.stringify(request.body))?.[1] ?? -1);
    if (typeof key !== 'string') unkeyed.push(job);
    else {
      const effect = effects.get(key) ?? { job, requests: 0 };
      effect.requests++;
      effects.set(key, effect);
    }
    // A real ticket service answers a repeated key with the ticket it opened the first time.
    return { status: 201, body: { marker: TICKET_OPENED, ticket: typeof key === 'string' ? `T-${key.slice(-8)}` : 'T-unkeyed' } };
  });
  return { orders, tickets, effects, unkeyed };
}

/** The synthesized config with the tools pointed at loopback and the bench's limit. */
export function benchConfig(config: AgentRuntimeConfig, tools: ToolServices): AgentRuntimeConfig {
  const urls: Record<string, string> = { lookup_order: `${tools.orders.url}/v1/orders/lookup`, create_ticket: `${tools.tickets.url}/v1/tickets` };
  // Through defineAgent again, as synth would, so the definition's version matches its content.
  const { promptVersion: _p, version: _v, ...spec } = config.definition;
  const definition = defineAgent({
    ...spec,
    limits: { ...spec.limits, timeoutSeconds: RUN_TIMEOUT_SECONDS },
    tools: spec.tools.map((t) => (t.kind === 'http' && urls[t.name] ? { ...t, url: urls[t.name]! } : t)),
  } as AgentDefinitionInput);
  return { ...config, definition, route: config.route.map((target) => ({ ...target, timeoutSeconds: ATTEMPT_TIMEOUT_SECONDS })) };
}

/** What one cloud's run ends with: the counts the report prints. */
export interface FaultReport {
  readonly cloud: string;
  readonly runtime: string;
  readonly jobs: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly deadLettered: number;
  /** Jobs in no terminal state once the queue is empty. */
  readonly lost: number;
  /** Messages in the dead-letter queue whose job does not say dead_lettered. */
  readonly deadLetteredUnannounced: number;
  readonly succeededWithoutValidOutput: number;
  readonly duplicateSideEffects: number;
  readonly unkeyedSideEffects: number;
  readonly deliveries: number;
  readonly lateDuplicates: number;
  readonly lateDuplicatesThatRan: number;
  readonly concurrentDuplicates: number;
  readonly modelCalls: number;
  readonly faults: Record<string, number>;
  readonly runFailedEvents: number;
  readonly seconds: number;
}

/**
 * Checks a succeeded job's output against the agent's output schema and rules, independently of
 * the runtime: Ajv on the schema, then the due date ahead and the confidence floor.
 */
export function outputChecker(definition: AgentDefinition): (record: JobRecord) => boolean {
  const output = definition.output!;
  const validate = new Ajv2020({ strict: false }).compile(output.schema as object);
  return (record) => {
    const value = record.structuredOutput as { dueBy?: string; confidence?: number } | undefined;
    if (!value || !validate(value)) return false;
    if (value.dueBy && Date.parse(value.dueBy) <= Date.parse(record.updatedAt) - 60_000) return false;
    return output.minConfidence === undefined || (value.confidence ?? 0) >= output.minConfidence;
  };
}

/**
 * The effects counted by the ticket service: per job, every distinct key (and every request
 * without one) beyond the first is a ticket opened twice.
 */
export function duplicateEffects(tools: ToolServices): { duplicates: number; unkeyed: number } {
  const perJob = new Map<number, number>();
  for (const job of [...[...tools.effects.values()].map((e) => e.job), ...tools.unkeyed]) perJob.set(job, (perJob.get(job) ?? 0) + 1);
  return { duplicates: [...perJob.values()].reduce((n, effects) => n + effects - 1, 0), unkeyed: tools.unkeyed.length };
}

/** Runs `work` over `items` with at most `limit` at once. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}
