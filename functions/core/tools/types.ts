import type { AgentTool } from '../../../contract/definition/schema';

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
