import { randomBytes } from 'node:crypto';
import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { attemptId } from '../../../contract/audit/layout';
import type { AgentDefinition } from '../../../contract/definition/define';
import type { ToolPolicy } from '../../../contract/policy/tool-policy';
import type { AuditRecord, AuditSink, RunRecord, RunStopReason, StepRecord } from '../audit/records';
import { runVerdict } from '../../../contract/runs/results';
import { AllTargetsFailedError, ModelCallError, type ModelRouter, type RoutedResponse } from '../models/router';
import type { EventPublisher } from '../events/events';
import { ZERO_USAGE, type ContentBlock, type Message, type ModelRequest, type Usage } from '../models/types';
import { OutputValidator, repairPrompt, type ValidationReport } from '../output/validate';
import { AgentSkills, LOAD_SKILL, READ_SKILL_FILE } from '../skills/skills';
import type { MetricsSink } from '../telemetry/metrics';
import { addUsage, costUsd, totalTokens, type PriceTable } from '../telemetry/pricing';
import { ToolExecutor, type BuiltinTool, type ToolOutcome, type Transports } from '../tools/executor';

/** What the agent needs from the world: every port, no cloud SDK. */
export interface AgentPorts {
  readonly router: ModelRouter;
  readonly skills: AgentSkills;
  readonly transports: Transports;
  readonly audit: AuditSink;
  readonly metrics: MetricsSink;
  readonly prices: PriceTable;
  readonly toolPolicy: ToolPolicy;
  /** Where the agent hands work to another agent; with it, the model gets a `handoff` tool. */
  readonly events?: EventPublisher;
  readonly now?: () => number;
}

export interface RunRequest {
  /** Stable across redeliveries of the same job, so write tools get the same idempotency keys. */
  readonly runId: string;
  readonly input: string | Record<string, unknown>;
  /** What started the run: `api`, `job`, `schedule`, `event`, `local`. */
  readonly trigger: string;
  /** When the run must have ended (epoch ms): the platform's deadline minus time to write results. */
  readonly deadline: number;
}

/** A run request as one attempt at it: a redelivery or a retried request is another attempt. */
type RunAttempt = RunRequest & { readonly attempt: string };

export interface RunResult {
  readonly runId: string;
  readonly agent: string;
  readonly stopReason: RunStopReason;
  /** The final answer's text. */
  readonly output: string;
  /** The parsed answer, for agents with an output schema. */
  readonly structuredOutput?: unknown;
  readonly validation?: ValidationReport;
  readonly steps: number;
  readonly usage: Usage;
  readonly costUsd: number;
  readonly provider?: string;
  readonly model?: string;
  /** Why the run ended without an answer, when a model failure ended it. */
  readonly error?: string;
}

const tracer = trace.getTracer('serverless-agents');

/**
 * The reason-act loop every agent runs: call the model, run the tools it asks for (independent
 * calls concurrently), hand back their results, until the model ends its turn or a limit ends the
 * run. Limits return a stop reason; only infrastructure failures (every model target down) throw.
 */
export class Agent {
  private readonly tools: ToolExecutor;
  private readonly validator?: OutputValidator;
  private readonly now: () => number;
  /** Instructions, then the skill catalog: the same cached prefix for every run of this agent. */
  private readonly system: ModelRequest['system'];

  constructor(
    readonly definition: AgentDefinition,
    private readonly ports: AgentPorts,
  ) {
    this.now = ports.now ?? Date.now;
    const builtins = [...skillTools(ports.skills), ...(ports.events ? [handoffTool(definition, ports.events)] : [])];
    this.tools = new ToolExecutor(definition.tools, builtins, ports.toolPolicy, ports.transports);
    if (definition.output) this.validator = new OutputValidator(definition.output, this.now);
    const catalog = ports.skills.catalog();
    this.system = [{ text: definition.instructions, cache: true }, ...(catalog ? [{ text: catalog, cache: true }] : [])];
  }

  async run(request: RunRequest): Promise<RunResult> {
    const { definition: agent } = this;
    return tracer.startActiveSpan(`invoke_agent ${agent.name}`, { attributes: agentAttributes(agent, request) }, async (span) => {
      const started = this.now();
      const records: AuditRecord[] = [];
      const current: RunAttempt = { ...request, attempt: attemptId(started, randomBytes(3).toString('hex')) };
      try {
        const result = await this.loop(current, records, span);
        if (runVerdict(result, agent.output !== undefined).outcome !== 'succeeded') this.ports.metrics.add('RunFailures', 'Count', 1);
        this.recordRun(current, result, records, started);
        span.setAttributes({ 'gen_ai.usage.input_tokens': result.usage.inputTokens, 'gen_ai.usage.output_tokens': result.usage.outputTokens, 'serverless_agents.stop_reason': result.stopReason });
        return result;
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        this.ports.metrics.add('RunFailures', 'Count', 1);
        records.push(this.runRecord(current, started, { stopReason: 'runtime_error', output: '', steps: records.filter((r) => r.type === 'step').length, usage: ZERO_USAGE, costUsd: 0, error: (e as Error).message }));
        throw e;
      } finally {
        this.ports.metrics.add('RunLatency', 'Milliseconds', this.now() - started);
        this.ports.metrics.flush();
        await this.writeAudit(records);
        span.end();
      }
    });
  }

  private async loop(request: RunAttempt, records: AuditRecord[], span: Span): Promise<RunResult> {
    const { definition: agent, ports } = this;
    const { limits } = agent;
    const messages: Message[] = [{ role: 'user', content: [{ type: 'text', text: typeof request.input === 'string' ? request.input : JSON.stringify(request.input) }] }];
    const tools = this.tools.specs();
    let usage: Usage = ZERO_USAGE;
    let cost = 0;
    let steps = 0;
    let repairs = 0;
    let last: RoutedResponse | undefined;
    const finish = (stopReason: RunStopReason, output = '', validation?: ValidationReport, error?: string): RunResult => ({
      runId: request.runId,
      agent: agent.name,
      stopReason,
      output,
      ...(error && { error }),
      ...(validation?.value !== undefined && { structuredOutput: validation.value }),
      ...(validation && { validation }),
      steps,
      usage,
      costUsd: cost,
      ...(last && { provider: last.provider, model: last.model }),
    });

    // One deadline signal for the whole run: every model call is cut off at the same moment.
    const deadline = AbortSignal.timeout(Math.max(0, Math.floor(request.deadline - this.now())));
    for (;;) {
      if (steps >= limits.maxSteps) return finish('max_steps');
      if (totalTokens(usage) >= limits.maxTotalTokens) return finish('token_budget');
      if (cost >= limits.budgetUsd) return finish('cost_budget');
      const remaining = request.deadline - this.now();
      if (remaining <= 0) return finish('deadline');

      const modelRequest: ModelRequest = {
        system: this.system,
        messages: [...messages],
        tools,
        cacheTools: tools.length > 0,
        maxTokens: Math.max(1, Math.min(limits.maxOutputTokens, limits.maxTotalTokens - totalTokens(usage))),
      };
      steps += 1;
      const stepStarted = this.now();
      let response: RoutedResponse;
      try {
        response = await this.chat(modelRequest, deadline, request.deadline);
      } catch (e) {
        if (deadline.aborted) return finish('deadline');
        // The model failures a run ends on, with a reason; anything else is the runtime's own and throws.
        if (e instanceof AllTargetsFailedError) return finish('model_unavailable', '', undefined, e.message);
        if (e instanceof ModelCallError) return finish('model_error', '', undefined, e.message);
        throw e;
      }
      last = response;
      usage = addUsage(usage, response.usage);
      const stepCost = costUsd(ports.prices, response.model, response.usage);
      cost += stepCost ?? 0;
      this.recordModelMetrics(response);

      const step = { runId: request.runId, attempt: request.attempt, step: steps, agent: agent.name, started: stepStarted, request: modelRequest, response };
      if (response.stopReason === 'refusal') {
        ports.metrics.add('Refusals', 'Count', 1);
        records.push(this.stepRecord(step, [], stepCost));
        return finish('refusal', textOf(response.content));
      }
      const calls = response.content.filter((b): b is Extract<ContentBlock, { type: 'tool_use' }> => b.type === 'tool_use');
      if (response.stopReason === 'tool_use' && calls.length > 0) {
        const outcomes = await this.runTools(calls, request, steps, span, deadline);
        records.push(this.stepRecord(step, outcomes, stepCost));
        messages.push({ role: 'assistant', content: response.content });
        messages.push({ role: 'user', content: outcomes.map((o) => ({ type: 'tool_result', toolUseId: o.id, content: o.content, ...(o.status !== 'ok' && { isError: true }) })) });
        continue;
      }

      const answer = textOf(response.content);
      if (!this.validator) {
        records.push(this.stepRecord(step, [], stepCost));
        return finish('end_turn', answer);
      }
      const validation = await this.validator.validate(answer);
      records.push(this.stepRecord(step, [], stepCost, validation));
      if (validation.ok) return finish('end_turn', answer, validation);
      if (repairs >= (agent.output?.maxRepairs ?? 0)) {
        ports.metrics.add('ValidationFailures', 'Count', 1);
        return finish('end_turn', answer, validation);
      }
      repairs += 1;
      messages.push({ role: 'assistant', content: response.content });
      messages.push({ role: 'user', content: [{ type: 'text', text: repairPrompt(validation) }] });
    }
  }

  private chat(request: ModelRequest, signal: AbortSignal, deadline: number): Promise<RoutedResponse> {
    const first = this.ports.router.targets[0]!;
    return tracer.startActiveSpan(`chat ${first.model}`, { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': first.model, 'gen_ai.provider.name': first.provider, 'gen_ai.request.max_tokens': request.maxTokens } }, async (span) => {
      try {
        const response = await this.ports.router.complete(request, { signal, deadline });
        span.setAttributes({
          'gen_ai.provider.name': response.provider,
          'gen_ai.response.model': response.model,
          'gen_ai.response.finish_reasons': [response.stopReason],
          'gen_ai.usage.input_tokens': response.usage.inputTokens,
          'gen_ai.usage.output_tokens': response.usage.outputTokens,
          'gen_ai.usage.cache_read_input_tokens': response.usage.cacheReadTokens,
          'gen_ai.usage.cache_creation_input_tokens': response.usage.cacheWriteTokens,
          'serverless_agents.attempts': response.attempts.length,
        });
        return response;
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        throw e;
      } finally {
        span.end();
      }
    });
  }

  private async runTools(calls: Extract<ContentBlock, { type: 'tool_use' }>[], request: RunRequest, step: number, parent: Span, signal: AbortSignal): Promise<ToolOutcome[]> {
    const { metrics } = this.ports;
    const outcomes = await Promise.all(
      calls.map((call) =>
        tracer.startActiveSpan(`execute_tool ${call.name}`, { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': call.name, 'gen_ai.tool.call.id': call.id, 'gen_ai.agent.name': this.definition.name } }, async (span) => {
          // Tools are cut off at the run's deadline too, not only by their own timeouts.
          const outcome = await this.tools.run(call, { runId: request.runId, agent: this.definition.name, step, trigger: request.trigger, signal });
          span.setAttributes({ 'serverless_agents.tool.status': outcome.status, 'gen_ai.tool.type': outcome.kind });
          if (call.name === LOAD_SKILL && outcome.status === 'ok') {
            const skill = (call.input as { name: string }).name;
            span.setAttribute('serverless_agents.skill.name', skill);
            parent.addEvent('skill_activated', { 'serverless_agents.skill.name': skill });
          }
          if (outcome.status !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.status });
          span.end();
          return outcome;
        }),
      ),
    );
    metrics.add('ToolCalls', 'Count', outcomes.length);
    metrics.add('ToolFailures', 'Count', outcomes.filter((o) => o.status === 'error' || o.status === 'invalid_input' || o.status === 'unknown_tool').length);
    metrics.add('ToolDenials', 'Count', outcomes.filter((o) => o.status === 'denied').length);
    metrics.add('SkillActivations', 'Count', outcomes.filter((o) => o.name === LOAD_SKILL && o.status === 'ok').length);
    return outcomes;
  }

  private recordModelMetrics(response: RoutedResponse): void {
    const { metrics, prices } = this.ports;
    metrics.add('InputTokens', 'Count', response.usage.inputTokens);
    metrics.add('OutputTokens', 'Count', response.usage.outputTokens);
    metrics.add('CacheReadTokens', 'Count', response.usage.cacheReadTokens);
    metrics.add('CacheWriteTokens', 'Count', response.usage.cacheWriteTokens);
    metrics.add('CostUsd', 'None', costUsd(prices, response.model, response.usage) ?? 0);
    if (response.attempts.some((a) => a.outcome !== 'ok')) metrics.add('ModelFallbacks', 'Count', response.attempts.filter((a) => a.outcome !== 'ok').length);
  }

  private stepRecord(
    step: { runId: string; attempt: string; step: number; agent: string; started: number; request: ModelRequest; response: RoutedResponse },
    toolCalls: ToolOutcome[],
    cost: number | undefined,
    validation?: ValidationReport,
  ): StepRecord {
    return {
      type: 'step',
      runId: step.runId,
      attempt: step.attempt,
      agent: step.agent,
      step: step.step,
      startedAt: new Date(step.started).toISOString(),
      durationMs: this.now() - step.started,
      provider: step.response.provider,
      model: step.response.model,
      attempts: step.response.attempts,
      request: step.request,
      response: step.response.raw,
      stopReason: step.response.stopReason,
      usage: step.response.usage,
      ...(cost !== undefined && { costUsd: cost }),
      toolCalls,
      ...(validation && { validation }),
    };
  }

  private recordRun(request: RunAttempt, result: RunResult, records: AuditRecord[], started: number): void {
    this.ports.metrics.add('Runs', 'Count', 1);
    records.push(this.runRecord(request, started, result));
  }

  private runRecord(request: RunAttempt, started: number, result: Pick<RunRecord, 'stopReason' | 'output' | 'steps' | 'usage' | 'costUsd'> & Partial<Omit<RunResult, 'stopReason'>>): RunRecord {
    const { definition: agent, ports } = this;
    return {
      type: 'run',
      runId: request.runId,
      attempt: request.attempt,
      agent: agent.name,
      cohort: agent.cohort,
      definitionVersion: agent.version,
      promptVersion: agent.promptVersion,
      trigger: request.trigger,
      startedAt: new Date(started).toISOString(),
      durationMs: this.now() - started,
      input: request.input,
      steps: result.steps,
      ...(result.provider && { provider: result.provider, model: result.model }),
      stopReason: result.stopReason,
      usage: result.usage,
      costUsd: result.costUsd,
      fullyPriced: ports.router.targets.every((t) => ports.prices[t.model] !== undefined),
      output: result.output,
      ...(result.structuredOutput !== undefined && { structuredOutput: result.structuredOutput }),
      ...(result.validation && { validation: result.validation }),
      ...(result.error && { error: result.error }),
    };
  }

  private async writeAudit(records: AuditRecord[]): Promise<void> {
    // One structured log line per record, so a run can be found in the logs even if the sink fails.
    for (const record of records) console.log(JSON.stringify({ audit: record.type, ...record }));
    await this.ports.audit.write(records);
  }
}

/** The built-in tool through which the model hands a task to another agent, as a `handoff` event. */
export const HANDOFF = 'handoff';

function handoffTool(agent: AgentDefinition, events: EventPublisher): BuiltinTool {
  return {
    spec: {
      name: HANDOFF,
      description: 'Hand a task to another agent, named by its agent name, with everything it needs to know. It runs on its own; you will not see its answer.',
      inputSchema: {
        type: 'object',
        required: ['agent', 'input'],
        additionalProperties: false,
        properties: { agent: { type: 'string', pattern: '^[a-z]([a-z0-9-]*[a-z0-9])?$' }, input: { type: 'string', minLength: 1 } },
      },
    },
    run: async (input, context) => {
      await events.publish('handoff', {
        version: 1,
        runId: context.runId,
        agent: agent.name,
        cohort: agent.cohort,
        trigger: context.trigger ?? 'unknown',
        promptVersion: agent.promptVersion,
        definitionVersion: agent.version,
        handoff: { to: input.agent as string, input: input.input as string },
      });
      return `Handed off to ${input.agent as string}.`;
    },
  };
}

/** The skill tools as built-ins: loading a skill and reading its files. */
function skillTools(skills: AgentSkills): BuiltinTool[] {
  const run: Record<string, BuiltinTool['run']> = {
    [LOAD_SKILL]: (input) => skills.load(input.name as string),
    [READ_SKILL_FILE]: (input) => skills.readFile(input.name as string, input.path as string),
  };
  return skills.tools().map((spec) => ({ spec, run: run[spec.name]! }));
}

function textOf(content: readonly ContentBlock[]): string {
  return content
    .filter((b): b is Extract<ContentBlock, { type: 'text' }> => b.type === 'text')
    .map((b) => b.text)
    .join('');
}

function agentAttributes(agent: AgentDefinition, request: RunRequest) {
  return {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': agent.name,
    'gen_ai.agent.description': agent.description,
    'gen_ai.conversation.id': request.runId,
    'serverless_agents.cohort': agent.cohort,
    'serverless_agents.prompt_version': agent.promptVersion,
    'serverless_agents.trigger': request.trigger,
    'serverless_agents.skills': [...agent.skills],
  };
}
