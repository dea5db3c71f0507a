import { hopRefusal, resultEventType, taskProblem, type AgentTask, type Refusal, type TaskResult } from '../../contract/chain/envelope';
import type { JobRecord } from '../../contract/jobs/job-record';
import { taskInputOf } from '../core/chain/inbox';
import { chainLinkOf } from '../core/chain/chain';
import type { Runtime } from './assemble';
import { identity } from './outcome';
import { runQueued, type QueuedRun, type QueuedRunOptions, type TaskTrigger } from './queued';

/**
 * A task another agent sent, on either cloud, however it came (a direct call, the agent's queue):
 * checked before anything runs, then run through the queued-run life cycle under the task's run
 * id, so a task delivered twice runs once. Refused, with a `handoff.refused` event and a final
 * `failed` record that no redelivery changes: a task from an agent that may not send this one
 * tasks, past the chain's hop limit (the smaller of the chain's and this agent's), along an edge
 * the chain already took, past the chain's deadline or with its budget spent.
 */
export async function runTask(
  runtime: Runtime,
  value: unknown,
  options: QueuedRunOptions & { readonly messageId?: string },
  /** How an accepted task is run: the queued-run life cycle, or a durable engine's. */
  execute: (runtime: Runtime, run: QueuedRun, options: QueuedRunOptions) => Promise<unknown> = runQueued,
): Promise<TaskResult> {
  const accepted = await acceptTask(runtime, value, options);
  if ('result' in accepted) return accepted.result;
  return taskResult(runtime.config.definition.name, accepted.run.runId, await execute(runtime, accepted.run, options));
}

/**
 * The checks a task passes before it runs, and its input (from the inbox when it travelled by
 * reference): the run to carry out, or the answer of a task that will not run (malformed, refused,
 * its input gone), already recorded. A durable engine does this once, as a step of its own, so a
 * replay long after (a wait for approval) does not judge the task again by the clock.
 */
export async function acceptTask(runtime: Runtime, value: unknown, options: QueuedRunOptions & { readonly messageId?: string }): Promise<{ readonly run: QueuedRun } | { readonly result: TaskResult }> {
  const { definition } = runtime.config;
  const malformed = taskProblem(value);
  if (malformed) {
    const runId = typeof (value as AgentTask | undefined)?.runId === 'string' ? (value as AgentTask).runId : (options.messageId ?? 'unknown');
    const done = await runQueued(runtime, { runId, trigger: 'delegation', input: '', invalid: `the task is malformed: ${malformed}` }, options);
    return { result: taskResult(definition.name, runId, done) };
  }
  const task = value as AgentTask;
  const refused = refusalOf(task, definition.name, definition.limits.maxHops, runtime.config.callers ?? []);
  if (refused) return { result: await refuse(runtime, task, refused) };
  let input: string | Record<string, unknown>;
  try {
    input = await taskInputOf(task, runtime.inbox);
  } catch (e) {
    const done = await runQueued(runtime, { runId: task.runId, jobId: task.runId, trigger: TRIGGERS[task.kind], input: '', invalid: (e as Error).message }, options);
    return { result: taskResult(definition.name, task.runId, done) };
  }
  return { run: { runId: task.runId, jobId: task.runId, trigger: TRIGGERS[task.kind], input, task: { kind: task.kind, from: task.from, chain: task.chain } } };
}

const TRIGGERS: Record<AgentTask['kind'], TaskTrigger> = { call: 'call', job: 'delegation', handoff: 'handoff' };

/** Why this agent will not run `task`, or undefined. */
export function refusalOf(task: AgentTask, self: string, maxHops: number, callers: readonly string[]): Refusal | undefined {
  if (task.to !== self) return { reason: 'not_allowed', message: `the task is for agent ${task.to}, not ${self}` };
  if (!callers.includes(task.from)) return { reason: 'not_allowed', message: `agent ${task.from} may not send tasks to ${self} (its definition does not list it)` };
  // The sender's own place is the last of the path; the edge it takes now is from it to this agent.
  const path = task.chain.path.at(-1) === task.from ? task.chain.path : [...task.chain.path, task.from];
  return hopRefusal({ ...task.chain, path, maxHops: Math.min(task.chain.maxHops, maxHops) }, self);
}

/**
 * A refused task: recorded `failed` under its run id (create-only, so a redelivery neither records
 * nor announces it again) and announced once with `handoff.refused`.
 */
async function refuse(runtime: Runtime, task: AgentTask, refusal: Refusal): Promise<TaskResult> {
  const { definition } = runtime.config;
  const error = `refused: ${refusal.message}`;
  const record: JobRecord = {
    jobId: task.runId,
    agent: definition.name,
    status: 'failed',
    updatedAt: new Date().toISOString(),
    error,
    chain: chainLinkOf(task),
  };
  const first = runtime.jobs ? await runtime.jobs.create(record) : true;
  if (first) {
    await runtime.events
      .publish('handoff.refused', {
        ...identity(definition, task.runId, TRIGGERS[task.kind]),
        error,
        status: 'failed',
        chain: record.chain!,
        refused: { kind: task.kind, from: task.from, to: task.to, taskRunId: task.runId, reason: refusal.reason, message: refusal.message },
      })
      .catch((e) => console.error(JSON.stringify({ message: 'could not publish agent event', type: 'handoff.refused', runId: task.runId, error: (e as Error).message })));
    // A sender that is not waiting for the answer (a hand-off, a job) learns it from a report;
    // not one that may not send tasks here, whose name the task may only claim.
    if (task.kind !== 'call' && refusal.reason !== 'not_allowed') {
      await runtime.events
        .publish(resultEventType(task.from), { ...identity(definition, task.runId, TRIGGERS[task.kind]), error, status: 'failed', chain: record.chain! })
        .catch((e) => console.error(JSON.stringify({ message: 'could not publish agent event', type: resultEventType(task.from), runId: task.runId, error: (e as Error).message })));
    }
  }
  return { runId: task.runId, agent: definition.name, status: 'refused', error };
}

/** What the caller of a task is answered, from whatever the life cycle returned. */
function taskResult(agent: string, runId: string, done: unknown): TaskResult {
  const d = (done ?? {}) as Partial<JobRecord> & { status?: string };
  // What the caller counts against its budget: the run's spending and that of the agents it called.
  const cost = d.costUsd === undefined ? undefined : d.costUsd + (d.delegatedCostUsd ?? 0);
  const succeeded = d.status === undefined ? d.stopReason !== undefined : d.status === 'succeeded';
  return {
    runId,
    agent,
    status: succeeded ? 'succeeded' : 'failed',
    ...(d.stopReason && { stopReason: d.stopReason }),
    ...(d.output !== undefined && { output: d.output }),
    ...(d.structuredOutput !== undefined && { structuredOutput: d.structuredOutput }),
    ...(d.validation && { validation: d.validation }),
    ...(d.usage && { usage: d.usage }),
    ...(cost !== undefined && { costUsd: cost }),
    ...(!succeeded && { error: d.error ?? (d.status === 'running' ? `the task ${runId} is already running in another delivery` : `the task ended ${d.status ?? 'without a result'}`) }),
  };
}
