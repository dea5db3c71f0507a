import { TASK_MESSAGE_LIMIT, type AgentTask } from '../../../contract/chain/envelope';

/**
 * Where a task's input waits when it is too large for a message: the target agent's inbox in the
 * state store (DynamoDB on AWS, the agent's Blob storage on Azure). The sender writes, the target
 * reads; the message carries the key. Nothing is ever cut short to fit.
 */
export interface TaskInbox {
  put(agent: string, key: string, text: string): Promise<void>;
  get(agent: string, key: string): Promise<string | undefined>;
}

/** Keeps inputs in memory: for tests and local runs. */
export class MemoryTaskInbox implements TaskInbox {
  readonly items = new Map<string, string>();

  async put(agent: string, key: string, text: string): Promise<void> {
    this.items.set(`${agent}/${key}`, text);
  }

  async get(agent: string, key: string): Promise<string | undefined> {
    return this.items.get(`${agent}/${key}`);
  }
}

/** The task as a message: whole when it fits, its input in the target's inbox when it does not. */
export async function packTask(task: AgentTask, inbox: TaskInbox | undefined, limit = TASK_MESSAGE_LIMIT): Promise<AgentTask> {
  if (Buffer.byteLength(JSON.stringify(task)) <= limit) return task;
  if (!inbox) throw new Error(`the task for agent ${task.to} is larger than a message (${limit} bytes) and this agent has no state store to pass it through`);
  await inbox.put(task.to, task.runId, JSON.stringify(task.input));
  const { input: _input, ...rest } = task;
  return { ...rest, inputRef: task.runId };
}

/** The task's input, read from the inbox when it travelled by reference. */
export async function taskInputOf(task: AgentTask, inbox: TaskInbox | undefined): Promise<string | Record<string, unknown>> {
  if (task.input !== undefined) return task.input;
  const text = inbox && (await inbox.get(task.to, task.inputRef!));
  if (text === undefined) throw new Error(`the task's input (${task.inputRef}) is not in agent ${task.to}'s inbox`);
  return JSON.parse(text) as string | Record<string, unknown>;
}
