import { contentDigest } from '../../../contract/digest/content';
import type { AgentTool } from '../../../contract/definition/schema';
import { toolDenial, type ToolPolicy } from '../../../contract/policy/tool-denial';
import type { ToolSpec } from '../models/types';
import { compileJsonSchema, type Validate } from '../validation/json-schema';
import type { ApprovalDecision } from '../agent/steps';
import { ToolError, type ToolContext, type ToolTransport } from './types';

/** A tool the runtime itself provides, such as loading a skill. */
export interface BuiltinTool {
  readonly spec: ToolSpec;
  run(input: Record<string, unknown>, context: Omit<ToolContext, 'idempotencyKey'>): Promise<string>;
}

export interface ToolCallRequest {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
}

export type ToolOutcomeStatus = 'ok' | 'error' | 'invalid_input' | 'denied' | 'unknown_tool' | 'rejected';

/** What happened to one tool call; the model reads `content`, the audit keeps the rest. */
export interface ToolOutcome {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
  readonly status: ToolOutcomeStatus;
  readonly content: string;
  readonly durationMs: number;
  readonly kind: AgentTool['kind'] | 'builtin' | 'unknown';
  readonly idempotencyKey?: string;
  /** For a tool that needs approval: what was decided, by whom. */
  readonly approval?: ApprovalDecision;
}

export type Transports = { readonly [K in AgentTool['kind']]?: ToolTransport<Extract<AgentTool, { kind: K }>> };

/**
 * Runs the tools the model asks for, in the order of safety checks a reviewer expects: the tool
 * must exist, the cohort's policy must allow it, its input must match its JSON Schema; only then
 * does anything run. Every refusal goes back to the model as an error result and into the audit.
 */
export class ToolExecutor {
  private readonly validators = new Map<string, Promise<Validate>>();
  private readonly byName: ReadonlyMap<string, AgentTool>;

  constructor(
    tools: readonly AgentTool[],
    private readonly builtins: readonly BuiltinTool[],
    private readonly policy: ToolPolicy,
    private readonly transports: Transports,
  ) {
    this.byName = new Map(tools.map((t) => [t.name, t]));
  }

  /** What the model is offered: the agent's tools the policy allows, then the built-ins. */
  specs(): ToolSpec[] {
    const allowed = [...this.byName.values()].filter((t) => !toolDenial(this.policy, t));
    return [...allowed.map((t) => ({ name: t.name, description: t.description, inputSchema: t.input })), ...this.builtins.map((b) => b.spec)];
  }

  /** Runs independent calls concurrently; results come back in the order asked. */
  runAll(calls: readonly ToolCallRequest[], context: Omit<ToolContext, 'idempotencyKey'>): Promise<ToolOutcome[]> {
    return Promise.all(calls.map((call) => this.run(call, context)));
  }

  /**
   * Whether `call` would reach its tool's transport: a tool the definition lists, the policy allows
   * and the input fits, with its approval when it needs one. A durable engine awaits an agent call
   * only then, so a call the run refuses never reaches the other agent.
   */
  async admits(call: ToolCallRequest, approval?: ApprovalDecision): Promise<AgentTool | undefined> {
    const tool = this.byName.get(call.name);
    if (!tool || toolDenial(this.policy, tool)) return undefined;
    if (tool.approval && approval?.decision !== 'approved') return undefined;
    return (await this.validate(call.name, tool.input, call.input)) ? undefined : tool;
  }

  /**
   * Runs one call. A tool that needs approval runs only with an `approved` decision; any other
   * ending (rejected, expired, none asked for) goes back to the model as a rejection.
   */
  async run(call: ToolCallRequest, context: Omit<ToolContext, 'idempotencyKey'>, approval?: ApprovalDecision): Promise<ToolOutcome> {
    const started = performance.now();
    const done = (status: ToolOutcomeStatus, content: string, kind: ToolOutcome['kind'], idempotencyKey?: string): ToolOutcome => ({
      id: call.id,
      name: call.name,
      input: call.input,
      status,
      content,
      kind,
      durationMs: performance.now() - started,
      ...(idempotencyKey && { idempotencyKey }),
      ...(approval && { approval }),
    });

    const builtin = this.builtins.find((b) => b.spec.name === call.name);
    const tool = this.byName.get(call.name);
    if (!builtin && !tool) return done('unknown_tool', `There is no tool named "${call.name}".`, 'unknown');
    if (tool) {
      const denial = toolDenial(this.policy, tool);
      if (denial) return done('denied', `Refused: ${denial}.`, tool.kind);
    }
    const schema = builtin ? builtin.spec.inputSchema : tool!.input;
    const invalid = await this.validate(call.name, schema, call.input);
    if (invalid) return done('invalid_input', `Invalid input for "${call.name}": ${invalid}. Fix the input and call the tool again.`, builtin ? 'builtin' : tool!.kind);

    if (builtin) {
      try {
        return done('ok', await builtin.run(call.input as Record<string, unknown>, context), 'builtin');
      } catch (e) {
        return done('error', (e as Error).message, 'builtin');
      }
    }
    if (tool!.approval && approval?.decision !== 'approved') return done('rejected', rejection(tool!, approval), tool!.kind);
    const idempotencyKey = tool!.sideEffect === 'write' ? idempotencyKeyFor(context.runId, tool!.name, call.input) : undefined;
    const transport = this.transports[tool!.kind] as ToolTransport | undefined;
    if (!transport) return done('error', `Tools of kind "${tool!.kind}" are not available here.`, tool!.kind);
    try {
      const content = await transport.call(tool!, call.input, { ...context, ...(idempotencyKey && { idempotencyKey }) });
      return done('ok', content, tool!.kind, idempotencyKey);
    } catch (e) {
      const message = e instanceof ToolError ? e.message : `tool "${tool!.name}" failed: ${(e as Error).message}`;
      return done('error', message, tool!.kind, idempotencyKey);
    }
  }

  private async validate(name: string, schema: Record<string, unknown>, input: unknown): Promise<string | undefined> {
    let validator = this.validators.get(name);
    if (!validator) {
      validator = compileJsonSchema(schema);
      this.validators.set(name, validator);
    }
    const problems = (await validator)(input);
    return problems.length ? problems.map((p) => `${p.path || '(input)'}: ${p.message}`).join('; ') : undefined;
  }
}

/**
 * The key a write tool receives names the effect, not where the run happened to ask for it: the
 * run (a job id, a caller's idempotency key, a queue message id, an event id), the tool, and the
 * input in canonical JSON. A redelivered job whose model reaches the same write at another step,
 * in another order or with its keys written differently sends the same key, so the tool can
 * refuse the repeat. Two writes with identical input in one run are one effect by this rule; a
 * tool that means two must be given something that tells them apart (an amount, a line number).
 */
export function idempotencyKeyFor(runId: string, tool: string, input: unknown): string {
  return contentDigest(runId, tool, input);
}

/** What the model is told about a call that did not get its approval. */
function rejection(tool: AgentTool, approval: ApprovalDecision | undefined): string {
  if (!approval) return `Not run: "${tool.name}" needs a person's approval, and none could be asked for.`;
  if (approval.decision === 'expired') return `Not run: no one approved "${tool.name}" within ${tool.approval!.timeoutSeconds} s, so the call was rejected.`;
  return `Not run: ${approval.by ?? 'an approver'} rejected the call to "${tool.name}"${approval.reason ? `: ${approval.reason}` : '.'}`;
}
