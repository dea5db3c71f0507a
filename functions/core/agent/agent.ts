import { randomBytes } from 'node:crypto';
import { context as otelContext, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent } from '../../../contract/chain/envelope';
import { attemptId } from '../../../contract/audit/layout';
import type { AgentDefinition } from '../../../contract/definition/define';
import type { Cloud } from '../../../contract/config/runtime-config';
import type { ToolPolicy } from '../../../contract/policy/tool-policy';
import { stepDerived, validationFailures, type AuditRecord, type AuditSink, type RunRecord, type RunStopReason, type StepRecord } from '../audit/records';
import { AUDIT_SCHEMA_VERSION } from '../../../contract/audit/schema';
import { runVerdict } from '../../../contract/runs/results';
import { AllTargetsFailedError, ModelCallError, type ModelRouter, type RoutedResponse } from '../models/router';
import { isRefusal, NO_CHAIN_SPEND, RunChain, type AgentDelegates, type AgentTask, type IncomingTask, type TaskResult } from '../chain/chain';
import { IMMEDIATE_STEPS, withinDeadline, type ApprovalDecision, type ApprovalRequest, type ModelTurn, type RunAction, type RunEnding, type RunState, type StepAction, type StepContext, type StepOutcome, type StepRunner } from './steps';
import { AgentToolTransport, handoffTool, taskInput } from '../chain/delegation';
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
  /**
   * The cloud the agent runs on: spend on targets it does not bill (ModelTargetConfig.billedBy) is
   * also counted as ExternalCostUsd, which no cloud budget sees. @default none: all of it (a laptop)
   */
  readonly cloud?: Cloud;
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
  /**
   * Aborted when the host must stop before the run ends (a container told to shut down): the run
   * ends at once, as at its deadline, and its caller hands the work back.
   */
  readonly stop?: AbortSignal;
}

/** A run request as one attempt at it: a redelivery or a retried request is another attempt. */
export type RunAttempt = RunRequest & { readonly attempt: string };

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

  /**
   * Runs a request to its end. `runner` carries the steps out: at once (the default), or through a
   * durable engine, whose replays return recorded steps without running them again; the run's
   * start, and its closing records and metrics, are steps too.
   */
  async run(request: RunRequest, runner: StepRunner = IMMEDIATE_STEPS): Promise<RunResult> {
    const { definition: agent } = this;
    const { started, attempt } = await runner.step('start', async () => {
      const at = this.now();
      return { started: at, attempt: attemptId(at, randomBytes(3).toString('hex')) };
    });
    // A durable run's own limit counts from its recorded start, the same on every replay.
    const deadline = runner.durable ? started + agent.limits.timeoutSeconds * 1000 : request.deadline;
    const chain = new RunChain(agent, request.runId, deadline, started, request.task);
    return tracer.startActiveSpan(`invoke_agent ${agent.name}`, { attributes: agentAttributes(agent, request, chain.correlationId) }, traceParent(request.task?.chain.traceparent), async (span) => {
      const records: AuditRecord[] = [];
      const current: RunAttempt = { ...request, attempt };
      const traceId = validTraceId(span);
      const ofChain = { chain, ...(traceId && { traceId }) };
      try {
        const { state } = await this.loop(current, records, span, chain, runner, started);
        const result = this.conclude(current, started, state, records, chain, traceId);
        span.setAttributes({ 'gen_ai.usage.input_tokens': result.usage.inputTokens, 'gen_ai.usage.output_tokens': result.usage.outputTokens, 'serverless_agents.stop_reason': result.stopReason });
        return result;
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        // Counted as a run too, so failure rates stay a share of runs.
        this.ports.metrics.add('Runs', 'Count', 1);
        this.ports.metrics.add('RunFailures', 'Count', 1);
        records.push(this.runRecord(current, started, withChain({ stopReason: 'runtime_error', output: '', steps: records.filter((r) => r.type === 'step').length, usage: ZERO_USAGE, costUsd: 0, error: (e as Error).message }, ofChain), records));
        throw e;
      } finally {
        await this.close(records, started);
        span.end();
      }
    });
  }

  /** The run's first state: the prompt as the conversation's first message, nothing spent. */
  begin(input: RunRequest['input']): RunState {
    return {
      messages: [{ role: 'user', content: [{ type: 'text', text: typeof input === 'string' ? input : JSON.stringify(input) }] }],
      steps: 0,
      repairs: 0,
      usage: ZERO_USAGE,
      costUsd: 0,
      chain: NO_CHAIN_SPEND,
    };
  }

  /**
   * What the run does next, from its state alone and the time `now`: a model turn, the tool calls
   * the last turn asked for, the check of its answer, or the end. The run's limits are its own, or
   * what its chain has left when that is less.
   */
  next(state: RunState, chain: RunChain, now: number): RunAction {
    if (state.ended) return { type: 'end', ending: state.ended };
    if (state.pending?.kind === 'tools') {
      const approvals = state.pending.calls.flatMap((call): ApprovalRequest[] => {
        const approval = this.definition.tools.find((t) => t.name === call.name)?.approval;
        return approval ? [{ callId: call.id, tool: call.name, input: call.input, approvers: approval.approvers, timeoutSeconds: approval.timeoutSeconds }] : [];
      });
      return { type: 'tools', step: state.steps, calls: state.pending.calls, approvals };
    }
    if (state.pending?.kind === 'validate') return { type: 'validate', step: state.steps, answer: state.pending.answer };
    const { limits } = this.definition;
    const tokens = totalTokens(state.usage) + state.chain.delegatedTokens;
    if (state.steps >= limits.maxSteps) return { type: 'end', ending: { stopReason: 'max_steps' } };
    if (tokens >= chain.tokenBudget) return { type: 'end', ending: { stopReason: 'token_budget' } };
    if (state.costUsd + state.chain.delegatedCostUsd >= chain.costBudget) return { type: 'end', ending: { stopReason: 'cost_budget' } };
    if (chain.deadline - now <= 0) return { type: 'end', ending: { stopReason: 'deadline' } };
    const tools = this.tools.specs();
    const request: ModelRequest = { system: this.system, messages: [...state.messages], tools, cacheTools: tools.length > 0, maxTokens: Math.max(1, Math.min(limits.maxOutputTokens, chain.tokenBudget - tokens)) };
    return { type: 'model', step: state.steps + 1, request };
  }

  /**
   * Does one step: the only place a run touches the world (models, tools, the clock), so an engine
   * that records each step's outcome can replay a run without doing any of it again. Metrics of
   * the step are emitted here, once.
   */
  async perform(state: RunState, action: StepAction, context: StepContext): Promise<StepOutcome> {
    switch (action.type) {
      case 'model': {
        const startedAt = this.now();
        try {
          const response = await this.chat(action.request, context.signal, context.deadline);
          this.recordModelMetrics(response);
          if (response.stopReason === 'refusal') this.ports.metrics.add('Refusals', 'Count', 1);
          return { type: 'model', startedAt, finishedAt: this.now(), response };
        } catch (e) {
          const failed = (ending: RunEnding): StepOutcome => ({ type: 'model', startedAt, finishedAt: this.now(), failure: ending });
          if (context.signal.aborted) return failed({ stopReason: 'deadline' });
          // The model failures a run ends on, with a reason; anything else is the runtime's own and throws.
          if (e instanceof AllTargetsFailedError) return failed({ stopReason: 'model_unavailable', error: e.message });
          if (e instanceof ModelCallError) return failed({ stopReason: 'model_error', error: e.message });
          throw e;
        }
      }
      case 'tools': {
        context.chain.restore(state.chain);
        const toolChain: ToolChain = { run: context.chain, send: (kind, to, input) => this.task(context.chain, kind, to, input, { costUsd: state.costUsd, usage: state.usage }, context.request, traceparentOf(context.span)) };
        const outcomes = await this.runTools(action.calls, context.request, action.step, context.span, context.signal, toolChain, context.approvals, context.awaited);
        return { type: 'tools', outcomes, chain: context.chain.snapshot(), finishedAt: this.now() };
      }
      case 'validate': {
        const report = await this.validator!.validate(action.answer);
        if (!report.ok && state.repairs >= (this.definition.output?.maxRepairs ?? 0)) this.ports.metrics.add('ValidationFailures', 'Count', 1);
        return { type: 'validate', report, finishedAt: this.now() };
      }
    }
  }

  /**
   * Folds a step's outcome into the run's state, and gives the audit record of a model turn once
   * the turn's work is done. Deterministic: a replay from recorded outcomes rebuilds the same
   * state and records.
   */
  apply(state: RunState, action: StepAction, outcome: StepOutcome, run: { readonly runId: string; readonly attempt: string }): { state: RunState; record?: StepRecord } {
    if (outcome.type === 'model' && action.type === 'model') {
      if (outcome.failure) return { state: { ...state, steps: action.step, ended: outcome.failure } };
      const response = outcome.response;
      const stepCost = costUsd(this.ports.prices, response.model, response.usage);
      const next: RunState = { ...state, steps: action.step, usage: addUsage(state.usage, response.usage), costUsd: state.costUsd + (stepCost ?? 0), last: { provider: response.provider, model: response.model } };
      const turn: ModelTurn = { step: action.step, request: action.request, response, startedAt: outcome.startedAt, ...(stepCost !== undefined && { costUsd: stepCost }) };
      if (response.stopReason === 'refusal') return { state: { ...next, ended: { stopReason: 'refusal', output: textOf(response.content) } }, record: this.stepRecord(run, turn, [], outcome.finishedAt) };
      const calls = response.content.filter((b): b is Extract<ContentBlock, { type: 'tool_use' }> => b.type === 'tool_use');
      if (response.stopReason === 'tool_use' && calls.length > 0) return { state: { ...next, pending: { kind: 'tools', turn, calls } } };
      const answer = textOf(response.content);
      if (!this.validator) return { state: { ...next, ended: { stopReason: 'end_turn', output: answer } }, record: this.stepRecord(run, turn, [], outcome.finishedAt) };
      return { state: { ...next, pending: { kind: 'validate', turn, answer } } };
    }
    const pending = state.pending!;
    const { pending: _done, ...rest } = state;
    if (outcome.type === 'tools') {
      const results: Message = { role: 'user', content: outcome.outcomes.map((o) => ({ type: 'tool_result', toolUseId: o.id, content: o.content, ...(o.status !== 'ok' && { isError: true }) })) };
      return {
        state: { ...rest, chain: outcome.chain, messages: [...state.messages, { role: 'assistant', content: pending.turn.response.content }, results] },
        record: this.stepRecord(run, pending.turn, outcome.outcomes, outcome.finishedAt),
      };
    }
    if (outcome.type !== 'validate' || pending.kind !== 'validate') throw new Error(`step ${action.type} does not follow from the run's state`);
    const report = outcome.report;
    const record = this.stepRecord(run, pending.turn, [], outcome.finishedAt, report);
    if (report.ok || state.repairs >= (this.definition.output?.maxRepairs ?? 0)) return { state: { ...rest, ended: { stopReason: 'end_turn', output: pending.answer, validation: report } }, record };
    return {
      state: { ...rest, repairs: state.repairs + 1, messages: [...state.messages, { role: 'assistant', content: pending.turn.response.content }, { role: 'user', content: [{ type: 'text', text: repairPrompt(report) }] }] },
      record,
    };
  }

  /**
   * A run's result once its state has ended, with its run record added to `records` and its
   * failure counted: what every driver does at the end (the caller writes the records).
   */
  conclude(request: RunAttempt, started: number, state: RunState, records: AuditRecord[], chain: RunChain, traceId?: string): RunResult {
    chain.restore(state.chain);
    const result = withChain(this.result(state, request.runId), { chain, ...(traceId && { traceId }) });
    if (runVerdict(result, this.definition.output !== undefined).outcome !== 'succeeded') this.ports.metrics.add('RunFailures', 'Count', 1);
    this.recordRun(request, result, records, started);
    return result;
  }

  /** Writes a finished run's audit records and metrics (the records once, whatever the driver). */
  async close(records: readonly AuditRecord[], started: number): Promise<void> {
    this.ports.metrics.add('RunLatency', 'Milliseconds', this.now() - started);
    this.ports.metrics.flush();
    await this.writeAudit(records);
  }

  /** The result of a run that has ended. */
  result(state: RunState, runId: string): Omit<RunResult, 'correlationId'> {
    const ending = state.ended!;
    return {
      runId,
      agent: this.definition.name,
      stopReason: ending.stopReason,
      output: ending.output ?? '',
      ...(ending.error && { error: ending.error }),
      ...(ending.validation?.value !== undefined && { structuredOutput: ending.validation.value }),
      ...(ending.validation && { validation: ending.validation }),
      steps: state.steps,
      usage: state.usage,
      costUsd: state.costUsd,
      ...(state.last && { provider: state.last.provider, model: state.last.model }),
    };
  }

  /**
   * Carries the run's steps out with `runner`: performed now, or recorded and replayed by a durable
   * engine. A `tools` step whose calls need approval first waits for each decision.
   */
  private async loop(request: RunAttempt, records: AuditRecord[], span: Span, chain: RunChain, runner: StepRunner, started: number): Promise<{ result: Omit<RunResult, 'correlationId'>; state: RunState }> {
    // Not durable: one deadline signal for the whole run, every model call cut off at the same
    // moment. Durable: each step stops at the run's deadline or when its own invocation ends.
    const runSignal = runner.durable ? undefined : request.stop ? AbortSignal.any([runner.signal(chain.deadline), request.stop]) : runner.signal(chain.deadline);
    let state = this.begin(request.input);
    let now = runner.durable ? started : this.now();
    for (;;) {
      const action: RunAction = request.stop?.aborted ? { type: 'end', ending: { stopReason: 'deadline' } } : this.next(state, chain, now);
      if (action.type === 'end') {
        state = { ...state, ended: action.ending };
        break;
      }
      const approvals: Record<string, ApprovalDecision> = {};
      let awaited: ReadonlyMap<string, TaskResult> | undefined;
      if (action.type === 'tools') {
        for (const approval of action.approvals) approvals[approval.callId] = await runner.approval(`approval-${action.step}-${approval.callId}`, withinDeadline(approval, chain.deadline, now));
        if (runner.awaitAgent) awaited = await this.awaitAgents(state, action, chain, span, runner, approvals);
      }
      const current = state;
      const outcome = await runner.step(`${action.type}-${action.step}`, () =>
        this.perform(current, action, { signal: runSignal ?? runner.signal(chain.deadline), deadline: chain.deadline, span, chain, request, approvals, ...(awaited && { awaited }) }),
      );
      const applied = this.apply(state, action, outcome, request);
      state = applied.state;
      if (applied.record) records.push(applied.record);
      now = runner.durable ? finishedAt(outcome) : this.now();
    }
    return { result: this.result(state, request.runId), state };
  }

  /**
   * The task a tool sends another agent, with the envelope the run gives it. A task the chain's
   * limits refuse (hops, a loop, the deadline, the budget) is announced with `handoff.refused`
   * and comes back to the model as the tool's error.
   */
  /**
   * The agents a `tools` step calls, called by the engine before the step: each task made in a step
   * of its own (as the step will make it: its run id is a digest of the run, the target and the
   * input), then awaited by the engine with no function running. The step then finds the answers
   * by task run id. Only calls the run would make are awaited: tools it lists, allows and can
   * validate the input of, with their approvals.
   */
  private async awaitAgents(
    state: RunState,
    action: Extract<StepAction, { type: 'tools' }>,
    chain: RunChain,
    span: Span,
    runner: StepRunner,
    approvals: Readonly<Record<string, ApprovalDecision>>,
  ): Promise<ReadonlyMap<string, TaskResult>> {
    const awaited = new Map<string, TaskResult>();
    for (const call of action.calls) {
      const tool = await this.tools.admits(call, approvals[call.id]);
      if (tool?.kind !== 'agent' || tool.mode !== 'call') continue;
      const task = await runner.step(`task-${action.step}-${call.id}`, async () => {
        chain.restore(state.chain);
        const made = chain.task('call', tool.agent, taskInput(call.input), { costUsd: state.costUsd, usage: state.usage }, traceparentOf(span));
        return isRefusal(made) ? null : made;
      });
      // A refused task is refused again in the step, which tells the model and announces it.
      if (task) awaited.set(task.runId, await runner.awaitAgent!(`agent-${action.step}-${call.id}`, task));
    }
    return awaited;
  }

  private async task(chain: RunChain, kind: AgentTask['kind'], to: string, input: string | Record<string, unknown>, spent: { costUsd: number; usage: Usage }, request: Pick<RunRequest, 'runId' | 'trigger'>, traceparent: string | undefined): Promise<AgentTask> {
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

  private async runTools(
    calls: readonly Extract<ContentBlock, { type: 'tool_use' }>[],
    request: Pick<RunRequest, 'runId' | 'trigger'>,
    step: number,
    parent: Span,
    signal: AbortSignal,
    chain: ToolChain,
    approvals: Readonly<Record<string, ApprovalDecision>> = {},
    awaited?: ReadonlyMap<string, TaskResult>,
  ): Promise<ToolOutcome[]> {
    const { metrics } = this.ports;
    const outcomes = await Promise.all(
      calls.map((call) =>
        tracer.startActiveSpan(`execute_tool ${call.name}`, { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': call.name, 'gen_ai.tool.call.id': call.id, 'gen_ai.agent.name': this.definition.name } }, async (span) => {
          // Tools are cut off at the run's deadline too, not only by their own timeouts.
          const outcome = await this.tools.run(call, { runId: request.runId, agent: this.definition.name, step, trigger: request.trigger, signal, chain, ...(awaited && { awaited }) }, approvals[call.id]);
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
    metrics.add('ToolRejections', 'Count', outcomes.filter((o) => o.status === 'rejected').length);
    metrics.add('SkillActivations', 'Count', outcomes.filter((o) => o.name === LOAD_SKILL && o.status === 'ok').length);
    return outcomes;
  }

  private recordModelMetrics(response: RoutedResponse): void {
    const { metrics, prices } = this.ports;
    metrics.add('InputTokens', 'Count', response.usage.inputTokens);
    metrics.add('OutputTokens', 'Count', response.usage.outputTokens);
    metrics.add('CacheReadTokens', 'Count', response.usage.cacheReadTokens);
    metrics.add('CacheWriteTokens', 'Count', response.usage.cacheWriteTokens);
    const cost = costUsd(prices, response.model, response.usage) ?? 0;
    metrics.add('CostUsd', 'None', cost);
    const target = this.ports.router.targets.find((t) => t.provider === response.provider && t.model === response.model);
    if (!this.ports.cloud || target?.billedBy !== this.ports.cloud) metrics.add('ExternalCostUsd', 'None', cost);
    if (response.attempts.some((a) => a.outcome !== 'ok')) metrics.add('ModelFallbacks', 'Count', response.attempts.filter((a) => a.outcome !== 'ok').length);
  }

  private stepRecord(run: { readonly runId: string; readonly attempt: string }, turn: ModelTurn, toolCalls: readonly ToolOutcome[], finishedAt: number, validation?: ValidationReport): StepRecord {
    const { response } = turn;
    return {
      type: 'step',
      schemaVersion: AUDIT_SCHEMA_VERSION,
      runId: run.runId,
      attempt: run.attempt,
      agent: this.definition.name,
      step: turn.step,
      startedAt: new Date(turn.startedAt).toISOString(),
      durationMs: finishedAt - turn.startedAt,
      provider: response.provider,
      model: response.model,
      attempts: response.attempts,
      request: turn.request,
      response: response.raw,
      stopReason: response.stopReason,
      usage: response.usage,
      ...(turn.costUsd !== undefined && { costUsd: turn.costUsd }),
      toolCalls,
      ...(validation && { validation }),
      ...stepDerived(response.attempts, toolCalls, validation),
    };
  }

  private recordRun(request: RunAttempt, result: RunResult, records: AuditRecord[], started: number): void {
    this.ports.metrics.add('Runs', 'Count', 1);
    records.push(this.runRecord(request, started, result, records));
  }

  /** The run record of an attempt, after `records`, its step records. */
  private runRecord(request: RunAttempt, started: number, result: Pick<RunRecord, 'stopReason' | 'output' | 'steps' | 'usage' | 'costUsd'> & Partial<Omit<RunResult, 'stopReason'>>, records: readonly AuditRecord[]): RunRecord {
    const { definition: agent, ports } = this;
    const failures = validationFailures(result.validation);
    return {
      type: 'run',
      schemaVersion: AUDIT_SCHEMA_VERSION,
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
      outcome: result.stopReason === 'runtime_error' ? 'failed' : runVerdict({ ...result, stopReason: result.stopReason }, agent.output !== undefined).outcome,
      fallbacks: records.reduce((n, r) => n + (r.type === 'step' && r.runId === request.runId && r.attempt === request.attempt ? r.fallbacks : 0), 0),
      ...(failures && { validationFailures: failures }),
    };
  }

  private async writeAudit(records: readonly AuditRecord[]): Promise<void> {
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

/** When a step's work ended, as recorded with its outcome. */
function finishedAt(outcome: StepOutcome): number {
  return outcome.finishedAt;
}
