import type { TaskKind } from '../../../contract/chain/envelope';
import type { AgentTool } from '../../../contract/definition/schema';
import type { AgentTask, RunChain, TaskResult } from '../chain/chain';

/** What a tool transport gets besides the input. */
export interface ToolContext {
  readonly runId: string;
  readonly agent: string;
  readonly step: number;
  /** What started the run. */
  readonly trigger?: string;
  /** Present for write tools: the same run and step always give the same key. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
  /** The run's place in its chain of agents, for tools that delegate to another agent. */
  readonly chain?: ToolChain;
  /** What called agents answered while the run's engine awaited them (durable runs), by task run id. */
  readonly awaited?: ReadonlyMap<string, TaskResult>;
}

/** What a delegating tool gets from its run: the chain, and the one way to make a task. */
export interface ToolChain {
  readonly run: RunChain;
  /** The task to send `to`, with the envelope the run gives it; a refused one is announced and thrown as a ToolError. */
  send(kind: TaskKind, to: string, input: string | Record<string, unknown>): Promise<AgentTask>;
}

/** Runs one kind of tool (HTTP, function, MCP) and returns what the model reads back. */
export interface ToolTransport<T extends AgentTool = AgentTool> {
  call(tool: T, input: unknown, context: ToolContext): Promise<string>;
}

/** A tool call that failed in a way the model should hear about (and may recover from). */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** Invokes a function by name or ARN: Lambda on AWS. Kept as a port so the core imports no SDK. */
export interface FunctionInvoker {
  invoke(functionName: string, payload: unknown, signal?: AbortSignal): Promise<unknown>;
}
