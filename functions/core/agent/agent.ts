import { randomBytes } from 'node:crypto';
import { context as otelContext, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent } from '../../../contract/chain/envelope';
import { attemptId } from '../../../contract/audit/layout';
import type { AgentDefinition } from '../../../contract/definition/define';
import type { ToolPolicy } from '../../../contract/policy/tool-policy';
import type { AuditRecord, AuditSink, RunRecord, RunStopReason, StepRecord } from '../audit/records';
import { runVerdict } from '../../../contract/runs/results';
import { AllTargetsFailedError, ModelCallError, type ModelRouter, type RoutedResponse } from '../models/router';
import { isRefusal, RunChain, type AgentDelegates, type AgentTask, type IncomingTask } from '../chain/chain';
import { AgentToolTransport, handoffTool } from '../chain/delegation';
import type { EventPublisher } from '../events/events';
import { ZERO_USAGE, type ContentBlock, type Message, type ModelRequest, type Usage } from '../models/types';
import { OutputValidator, repairPrompt, type ValidationReport } from '../output/validate';
import { AgentSkills, LOAD_SKILL, READ_SKILL_FILE } from '../skills/skills';
import type { MetricsSink } from '../telemetry/metrics';
import { addUsage, costUsd, totalTokens, type PriceTable } from '../telemetry/pricing';
import { ToolExecutor, type BuiltinTool, type ToolOutcome, type Transports } from '../tools/executor';
import { ToolError, type ToolChain } from '../tools/types';
import type { ChainLink, ChildRun } from '../../../contract/jobs/job-record';

/** What the agent needs from the world: every port, no cloud SDK. */
export interface AgentPorts {
  readonly router: ModelRouter;
  readonly skills: AgentSkills;
  readonly transports: Transports;
  readonly audit: AuditSink;
  readonly metrics: MetricsSink;
  readonly prices: PriceTable;
  readonly toolPolicy: ToolPolicy;
  /** Where refused hand-offs and delegations are announced (`handoff.refused`). */
  readonly events?: EventPublisher;
  /**
   * How the agent reaches the agents its definition delegates and hands off to. Without it,
   * agent tools answer that they are unavailable and the model gets no `handoff` tool.
   */
  readonly delegates?: AgentDelegates;
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
  /** The task that started the run, when another agent sent it: its envelope sets the run's limits. */
  readonly task?: IncomingTask;
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
  /** The chain the run belongs to: its own run id when it started one. */
  readonly correlationId: string;
  /** The run that sent this one, when another agent did. */
  readonly chain?: ChainLink;
  /** The tasks the run sent other agents, as it last saw them. */
  readonly children?: readonly ChildRun[];
  /** What those agents spent, which counted against this run's budgets too. */
  readonly delegatedCostUsd?: number;
  /** The W3C trace id every run of the chain shares. */
  readonly traceId?: string;
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
    const delegates = ports.delegates;
    const builtins = [...skillTools(ports.skills), ...(delegates && definition.handoffs.length ? [handoffTool(definition, delegates)] : [])];
    const transports: Transports = delegates ? { agent: new AgentToolTransport(delegates), ...ports.transports } : ports.transports;
    this.tools = new ToolExecutor(definition.tools, builtins, ports.toolPolicy, transports);
    if (definition.output) this.validator = new OutputValidator(definition.output, this.now);
    const catalog = ports.skills.catalog();
    this.system = [{ text: definition.instructions, cache: true }, ...(catalog ? [{ text: catalog, cache: true }] : [])];
  }

  async run(request: RunRequest): Promise<RunResult> {
    const { definition: agent } = this;
    const started = this.now();
    const chain = new RunChain(agent, request.runId, request.deadline, started, request.task);
    return tracer.startActiveSpan(`invoke_agent ${agent.name}`, { attributes: agentAttributes(agent, request, chain.correlationId) }, traceParent(request.task?.chain.traceparent), async (span) => {
      const records: AuditRecord[] = [];
      const current: RunAttempt = { ...request, attempt: attemptId(started, randomBytes(3).toString('hex')) };
      const traceId = validTraceId(span);
      const ofChain = { chain, ...(traceId && { traceId }) };
      try {
        const result = withChain(await this.loop(current, records, span, chain), ofChain);
        if (runVerdict(result, agent.output !== undefined).outcome !== 'succeeded') this.ports.metrics.add('RunFailures', 'Count', 1);
        this.recordRun(current, result, records, started);
        span.setAttributes({ 'gen_ai.usage.input_tokens': result.usage.inputTokens, 'gen_ai.usage.output_tokens': result.usage.outputTokens, 'serverless_agents.stop_reason': result.stopReason });
        return result;
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        this.ports.metrics.add('RunFailures', 'Count', 1);
        records.push(this.runRecord(current, started, withChain({ stopReason: 'runtime_error', output: '', steps: records.filter((r) => r.type === 'step').length, usage: ZERO_USAGE, costUsd: 0, error: (e as Error).message }, ofChain)));
        throw e;
      } finally {
        this.ports.metrics.add('RunLatency', 'Milliseconds', this.now() - started);
        this.ports.metrics.flush();
        await this.writeAudit(records);
        span.end();
      }
    });
  }

  private async loop(request: RunAttempt, records: AuditRecord[], span: Span, chain: RunChain): Promise<Omit<RunResult, 'correlationId'>> {
    const { definition: agent, ports } = this;
    const { limits } = agent;
    const messages: Message[] = [{ role: 'user', content: [{ type: 'text', text: typeof request.input === 'string' ? request.input : JSON.stringify(request.input) }] }];
    const tools = this.tools.specs();
    let usage: Usage = ZERO_USAGE;
    let cost = 0;
    let steps = 0;
    let repairs = 0;
    let last: RoutedResponse | undefined;
    const finish = (stopReason: RunStopReason, output = '', validation?: ValidationReport, error?: string): Omit<RunResult, 'correlationId'> => ({
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

    // One deadline signal for the whole run: every model call is cut off at the same moment. The
    // run's limits are its own, or what its chain has left when that is less.
    const runDeadline = chain.deadline;
    const deadline = AbortSignal.timeout(Math.max(0, Math.floor(runDeadline - this.now())));
    const tokensUsed = () => totalTokens(usage) + chain.delegatedTokens;
    const toolChain: ToolChain = { run: chain, send: (kind, to, input) => this.task(chain, kind, to, input, { costUsd: cost, usage }, request, traceparentOf(span)) };
    for (;;) {
      if (steps >= limits.maxSteps) return finish('max_steps');
      if (tokensUsed() >= chain.tokenBudget) return finish('token_budget');
      if (cost + chain.delegatedCostUsd >= chain.costBudget) return finish('cost_budget');
      const remaining = runDeadline - this.now();
      if (remaining <= 0) return finish('deadline');

      const modelRequest: ModelRequest = {
        system: this.system,
        messages: [...messages],
        tools,
        cacheTools: tools.length > 0,
        maxTokens: Math.max(1, Math.min(limits.maxOutputTokens, chain.tokenBudget - tokensUsed())),
      };
      steps += 1;
      const stepStarted = this.now();
      let response: RoutedResponse;
      try {
        response = await this.chat(modelRequest, deadline, runDeadline);
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
        const outcomes = await this.runTools(calls, request, steps, span, deadline, toolChain);
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

  /**
   * The task a tool sends another agent, with the envelope the run gives it. A task the chain's
   * limits refuse (hops, a loop, the deadline, the budget) is announced with `handoff.refused`
   * and comes back to the model as the tool's error.
   */
  private async task(chain: RunChain, kind: AgentTask['kind'], to: string, input: string | Record<string, unknown>, spent: { costUsd: number; usage: Usage }, request: RunRequest, traceparent: string | undefined): Promise<AgentTask> {
    const task = chain.task(kind, to, input, spent, traceparent);
    if (!isRefusal(task)) return task;
    this.ports.metrics.add('HandoffRefusals', 'Count', 1);
    const { definition: agent } = this;
    await this.ports.events
      ?.publish('handoff.refused', {
        version: 1,
        runId: request.runId,
        agent: agent.name,
        cohort: agent.cohort,
        trigger: request.trigger,
        promptVersion: agent.promptVersion,
        definitionVersion: agent.version,
        ...(chain.link && { chain: chain.link }),
        refused: { kind, from: agent.name, to, taskRunId: chain.children.at(-1)!.runId, reason: task.reason, message: task.message },
      })
      .catch((e) => console.error(JSON.stringify({ message: 'could not publish agent event', type: 'handoff.refused', runId: request.runId, error: (e as Error).message })));
    throw new ToolError(`Refused: ${task.message}.`);
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

  private async runTools(calls: Extract<ContentBlock, { type: 'tool_use' }>[], request: RunRequest, step: number, parent: Span, signal: AbortSignal, chain: ToolChain): Promise<ToolOutcome[]> {
    const { metrics } = this.ports;
    const outcomes = await Promise.all(
      calls.map((call) =>
        tracer.startActiveSpan(`execute_tool ${call.name}`, { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': call.name, 'gen_ai.tool.call.id': call.id, 'gen_ai.agent.name': this.definition.name } }, async (span) => {
          // Tools are cut off at the run's deadline too, not only by their own timeouts.
          const outcome = await this.tools.run(call, { runId: request.runId, agent: this.definition.name, step, trigger: request.trigger, signal, chain });
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
      correlationId: result.correlationId ?? request.runId,
      ...(result.chain && { chain: result.chain }),
      ...(result.children?.length && { children: result.children }),
      ...(result.delegatedCostUsd && { delegatedCostUsd: result.delegatedCostUsd }),
      ...(result.traceId && { traceId: result.traceId }),
    };
  }

  private async writeAudit(records: AuditRecord[]): Promise<void> {
    // One structured log line per record, so a run can be found in the logs even if the sink fails.
    for (const record of records) console.log(JSON.stringify({ audit: record.type, ...record }));
    await this.ports.audit.write(records);
  }
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

function agentAttributes(agent: AgentDefinition, request: RunRequest, correlationId: string) {
  return {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': agent.name,
    'gen_ai.agent.description': agent.description,
    'gen_ai.conversation.id': correlationId,
    'serverless_agents.run_id': request.runId,
    'serverless_agents.cohort': agent.cohort,
    'serverless_agents.prompt_version': agent.promptVersion,
    'serverless_agents.trigger': request.trigger,
    'serverless_agents.skills': [...agent.skills],
  };
}

/**
 * The context a run's span starts in: the sending run's, from its `traceparent`, so one trace spans
 * every agent of a chain. A run that starts a chain with no trace around it (no telemetry SDK
 * running) gets a trace id of its own, so its chain still shares one.
 */
function traceParent(traceparent: string | undefined): Context {
  const active = otelContext.active();
  const parent = parseTraceparent(traceparent);
  if (parent) return trace.setSpanContext(active, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags, isRemote: true });
  if (trace.getSpanContext(active) && trace.isSpanContextValid(trace.getSpanContext(active)!)) return active;
  return trace.setSpanContext(active, { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

function validTraceId(span: Span): string | undefined {
  const context = span.spanContext();
  return trace.isSpanContextValid(context) ? context.traceId : undefined;
}

/** The W3C traceparent of the run's span, for the tasks it sends. */
function traceparentOf(span: Span): string | undefined {
  const context = span.spanContext();
  return trace.isSpanContextValid(context) ? formatTraceparent(context.traceId, context.spanId, context.traceFlags) : undefined;
}

/** A run's result with its chain: its correlation id, its parent, its children and their spending. */
function withChain<T extends object>(result: T, of: { chain: RunChain; traceId?: string }): T & Pick<RunResult, 'correlationId' | 'chain' | 'children' | 'delegatedCostUsd' | 'traceId'> {
  const { chain } = of;
  return {
    ...result,
    correlationId: chain.correlationId,
    ...(chain.link && { chain: chain.link }),
    ...(chain.children.length && { children: [...chain.children] }),
    ...(chain.delegatedCostUsd && { delegatedCostUsd: chain.delegatedCostUsd }),
    ...(of.traceId && { traceId: of.traceId }),
  };
}
