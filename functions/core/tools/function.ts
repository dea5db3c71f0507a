import type { AgentTool } from '../../../contract/definition/schema';
import { ToolError, type FunctionInvoker, type ToolContext, type ToolTransport } from './types';

type FunctionTool = Extract<AgentTool, { kind: 'function' }>;

/**
 * Calls function tools. The function receives the input with the run's context, including the
 * idempotency key of a write tool, and answers any JSON the model then reads.
 */
export class FunctionToolTransport implements ToolTransport<FunctionTool> {
  constructor(private readonly invoker: FunctionInvoker) {}

  async call(tool: FunctionTool, input: unknown, context: ToolContext): Promise<string> {
    const payload = {
      tool: tool.name,
      input,
      runId: context.runId,
      agent: context.agent,
      ...(context.idempotencyKey && { idempotencyKey: context.idempotencyKey }),
    };
    let result: unknown;
    try {
      result = await this.invoker.invoke(tool.function, payload, context.signal);
    } catch (e) {
      throw new ToolError(`function tool "${tool.name}" failed: ${(e as Error).message}`);
    }
    return typeof result === 'string' ? result : JSON.stringify(result);
  }
}
