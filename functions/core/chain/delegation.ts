import type { AgentDefinition } from '../../../contract/definition/define';
import { HANDOFF_TOOL } from '../../../contract/chain/envelope';
import type { AgentCallTool } from '../../../contract/definition/schema';
import type { JobRecord } from '../../../contract/jobs/job-record';
import type { BuiltinTool } from '../tools/executor';
import { ToolError, type ToolContext, type ToolTransport } from '../tools/types';
import type { AgentDelegates, AgentTask, TaskResult } from './chain';

/** The statuses after which a task's run will not change again. */
const FINAL = new Set(['succeeded', 'failed', 'dead_lettered']);

/**
 * Runs `agent` tools: a `call` runs the other agent now and hands back its answer; a `job` puts the
 * task on the other agent's queue (with its retries and dead-letter queue) and waits for the job to
 * end, up to this run's deadline. Either way the other agent's spending counts against this run's
 * budget, and a failure comes back to the model as the tool's error, never as a crash.
 */
export class AgentToolTransport implements ToolTransport<AgentCallTool> {
  constructor(
    private readonly delegates: AgentDelegates,
    private readonly poll: { readonly firstMs: number; readonly maxMs: number } = { firstMs: 200, maxMs: 5_000 },
  ) {}

  async call(tool: AgentCallTool, input: unknown, context: ToolContext): Promise<string> {
    const chain = context.chain;
    if (!chain) throw new ToolError(`agent tool "${tool.name}" cannot run outside an agent's run`);
    const task = await chain.send(tool.mode, tool.agent, taskInput(input));
    const child = (status: JobRecord['status'], extra: { costUsd?: number; error?: string } = {}) => chain.run.child({ runId: task.runId, agent: task.to, kind: task.kind, status, ...extra });
    if (tool.mode === 'call') {
      let result: TaskResult;
      try {
        // A durable run's engine may have awaited the call already, with no function running.
        result = context.awaited?.get(task.runId) ?? (await this.delegates.call(task, context.signal));
      } catch (e) {
        child('failed', { error: (e as Error).message });
        throw new ToolError(`agent "${tool.agent}" could not answer: ${(e as Error).message}`);
      }
      chain.run.spend(result);
      child(result.status === 'succeeded' ? 'succeeded' : 'failed', { ...(result.costUsd !== undefined && { costUsd: result.costUsd }), ...(result.error && { error: result.error }) });
      if (result.status !== 'succeeded') throw new ToolError(`agent "${tool.agent}" did not answer: ${result.error ?? result.stopReason ?? result.status}`);
      return answerText(result);
    }

    await this.delegates.send(task);
    child('queued');
    const record = await this.awaitJob(task, context.signal);
    if (!record || !FINAL.has(record.status)) {
      throw new ToolError(`agent "${tool.agent}" has not finished job ${task.runId} within this run's time; it goes on, and its status is kept under that id`);
    }
    chain.run.spend({ ...(record.usage && { usage: record.usage }), costUsd: (record.costUsd ?? 0) + (record.delegatedCostUsd ?? 0) });
    child(record.status, { ...(record.costUsd !== undefined && { costUsd: record.costUsd }), ...(record.error && { error: record.error }) });
    if (record.status !== 'succeeded') throw new ToolError(`agent "${tool.agent}" did not answer job ${task.runId}: ${record.error ?? record.status}`);
    return answerText(record);
  }

  /** Reads the target's record of the job until it ends or this run's time is up. */
  private async awaitJob(task: AgentTask, signal?: AbortSignal): Promise<JobRecord | undefined> {
    let wait = this.poll.firstMs;
    let last: JobRecord | undefined;
    while (!signal?.aborted) {
      last = await this.delegates.status(task.to, task.runId);
      if (last && FINAL.has(last.status)) return last;
      await sleep(wait, signal);
      wait = Math.min(this.poll.maxMs, wait * 2);
    }
    return last;
  }
}

/** The hand-off tool, naming exactly the agents the definition lists. */
export function handoffTool(agent: AgentDefinition, delegates: AgentDelegates, describe: (name: string) => string | undefined = () => undefined): BuiltinTool {
  const targets = agent.handoffs.map((h) => h.agent);
  const lines = agent.handoffs.map((h) => `- ${h.agent}: ${h.description ?? describe(h.agent) ?? 'another agent'}`);
  return {
    spec: {
      name: HANDOFF_TOOL,
      description: `Hand the conversation to another agent, which continues it on its own; you will not see its answer. Say everything it needs to know. Agents:\n${lines.join('\n')}`,
      inputSchema: {
        type: 'object',
        required: ['agent', 'input'],
        additionalProperties: false,
        properties: { agent: { enum: targets }, input: { type: 'string', minLength: 1, description: 'What the agent is asked, with everything it needs to know' } },
      },
    },
    run: async (input, context) => {
      const chain = context.chain;
      if (!chain) throw new ToolError('hand-offs need an agent run');
      const task = await chain.send('handoff', input.agent as string, input.input as string);
      await delegates.send(task);
      chain.run.child({ runId: task.runId, agent: task.to, kind: 'handoff', status: 'queued' });
      return `Handed off to ${task.to} (run ${task.runId}); it continues the conversation. End your turn with a short note for the caller.`;
    },
  };
}

/** The called agent's prompt: the `task` text of the default input, or the whole input as JSON. */
export function taskInput(input: unknown): string | Record<string, unknown> {
  const object = (input ?? {}) as Record<string, unknown>;
  const keys = Object.keys(object);
  return keys.length === 1 && keys[0] === 'task' && typeof object.task === 'string' ? object.task : object;
}

/** What the calling model reads: the structured answer as JSON, or the text. */
function answerText(result: Pick<TaskResult, 'structuredOutput' | 'output'>): string {
  return result.structuredOutput !== undefined ? JSON.stringify(result.structuredOutput) : (result.output ?? '');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
