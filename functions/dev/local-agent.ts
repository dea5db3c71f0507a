import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { AgentDefinition } from '../../contract/definition';
import { toolPolicySchema } from '../../contract/policy/tool-policy';
import { parseRouterConfig, pricesFor, resolveModel, toRuntimeTarget, type RouterPolicy } from '../../contract/routing/config';
import { awsProviders, LambdaInvoker, secretsManager } from '../aws/adapters';
import type { AuditSink } from '../core/audit/records';
import type { AgentDelegates } from '../core/chain/chain';
import type { TaskInbox } from '../core/chain/inbox';
import type { EventPublisher } from '../core/events/events';
import { MemoryJobStore } from '../core/jobs/jobs';
import { ModelError, type ModelProvider } from '../core/models/types';
import type { ToolTransport } from '../core/tools/types';
import type { MetricsSink } from '../core/telemetry/metrics';
import { assembleRuntime, type Runtime } from '../entry/assemble';
import { LocalSkillStore } from '../local/skill-store';
import { RecordingProvider, RecordingTools, ReplayProvider, ReplayTools, type Transcript } from '../local/transcript';

/** One agent's runtime on a laptop: live (and maybe recording) or replaying its transcript. */
export interface LocalAgent {
  readonly runtime: Runtime;
  readonly live: boolean;
  /** The transcript it replays, when offline. */
  readonly source?: string;
  /** Why it has no model at all, when it has neither credentials nor a transcript. */
  readonly noModel?: string;
  /** The transcript of what it did, when recording. */
  recorded(): Transcript | undefined;
}

export interface LocalAgentOptions {
  /** The app's root: its `cdk.json` (models, tool policies) and `skills/`. */
  readonly root: string;
  /** Its recorded transcript, replayed when the environment has no credentials for its route. */
  readonly transcriptPath: string;
  /** Replay even with credentials. */
  readonly replay?: boolean;
  /** Keep a transcript of a live run. */
  readonly record?: boolean;
  /** Start the transcript over at each run's first model call (a long-lived process). */
  readonly replayEachRun?: boolean;
  /**
   * Build an agent with neither credentials nor a transcript anyway, its runs ending
   * `model_unavailable` with the reason (a long-lived process serving others). @default false: refuse
   */
  readonly allowNoModel?: boolean;
  /** Wraps a live agent's models and tools (a recorder keeping each run's answers). @default as they are */
  readonly wrapLive?: { provider(provider: ModelProvider): ModelProvider; tools(tools: ToolTransport): ToolTransport };
  readonly audit: AuditSink;
  readonly metrics: MetricsSink;
  readonly events?: EventPublisher;
  readonly delegates?: AgentDelegates;
  readonly callers?: readonly string[];
  readonly inbox?: TaskInbox;
}

/** What the app's config says about models and tool policies. */
export function appContext(root: string): { policy: RouterPolicy; toolPolicies: Record<string, unknown> } {
  const context = (JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context: { models: unknown; toolPolicies?: Record<string, unknown> } }).context;
  return { policy: parseRouterConfig(context.models, 'cdk.json models'), toolPolicies: context.toolPolicies ?? {} };
}

/** `<name>.transcript.json` beside `<name>.agent.yaml`. */
export const transcriptBeside = (file: string) => join(dirname(resolve(file)), `${basename(file).replace(/\.agent\.ya?ml$/, '')}.transcript.json`);

/**
 * The agent as it runs on a laptop: its route from the app's models, live when the environment
 * has credentials for one of its providers, otherwise replaying its transcript; its skills from
 * the app's `skills/` folder; its job records in memory.
 */
export async function localAgent(definition: AgentDefinition, options: LocalAgentOptions): Promise<LocalAgent> {
  const { policy, toolPolicies } = appContext(options.root);
  const route = resolveModel(policy, definition).map(toRuntimeTarget);
  const toolPolicy = toolPolicySchema.parse(toolPolicies[definition.cohort] ?? {});
  const live = !options.replay && hasCredentials(route.map((t) => t.provider));
  let transcript: Transcript | undefined;
  let noModel: string | undefined;
  if (!live) {
    const missing = `no credentials for ${[...new Set(route.map((t) => t.provider))].join(', ')} and no transcript at ${options.transcriptPath}`;
    if (existsSync(options.transcriptPath)) transcript = JSON.parse(readFileSync(options.transcriptPath, 'utf8')) as Transcript;
    else if (options.allowNoModel) noModel = missing;
    else throw new Error(`agent ${definition.name}: ${missing}`);
  }
  const recorders: { providers: RecordingProvider[]; tools?: RecordingTools } = { providers: [] };
  const replay = transcript && new ReplayTools(transcript);
  const record = live && options.record;
  const runtime = await assembleRuntime(
    { definition, route, prices: pricesFor(policy, route.map((t) => t.model)), toolPolicy, ...(options.callers?.length && { callers: [...options.callers] }) },
    {
      skills: new LocalSkillStore(join(options.root, 'skills')),
      audit: options.audit,
      metrics: options.metrics,
      secret: secretFromEnv,
      providers: awsProviders(process.env.AWS_REGION ?? 'us-east-1'),
      functions: new LambdaInvoker(),
      jobs: new MemoryJobStore(),
      ...(options.events && { events: options.events }),
      ...(options.delegates && { delegates: options.delegates }),
      ...(options.inbox && { inbox: options.inbox }),
      replace: {
        providers: (liveProviders) =>
          noModel
            ? async (target) => unavailable(target.model, noModel!)
            : transcript
            ? async (target) => new ReplayProvider(target.model, transcript!, options.replayEachRun ? replay : undefined)
            : record
              ? async (target) => {
                  const provider = new RecordingProvider(await liveProviders(target));
                  recorders.providers.push(provider);
                  return provider;
                }
              : options.wrapLive
                ? async (target) => options.wrapLive!.provider(await liveProviders(target))
                : liveProviders,
        transports: (liveTools) =>
          replay
            ? { ...liveTools, http: replay, function: replay, mcp: replay }
            : record
              ? { ...liveTools, http: (recorders.tools = new RecordingTools(liveTools.http!)) }
              : options.wrapLive
                ? { ...liveTools, http: options.wrapLive.tools(liveTools.http!), ...(liveTools.mcp && { mcp: options.wrapLive.tools(liveTools.mcp) }), ...(liveTools.function && { function: options.wrapLive.tools(liveTools.function) }) }
                : liveTools,
      },
    },
  );
  return {
    runtime,
    live,
    ...(transcript && { source: `${options.transcriptPath}${transcript.note ? ` (${transcript.note})` : ''}` }),
    ...(noModel && { noModel }),
    recorded: () => (record ? { agent: definition.name, recordedAt: new Date().toISOString(), turns: recorders.providers.flatMap((p) => p.turns), toolResults: recorders.tools?.results ?? [] } : undefined),
  };
}

/** A model that is never there: each call fails as a lost connection would, so the run ends `model_unavailable`. */
function unavailable(model: string, reason: string): ModelProvider {
  return {
    provider: 'none',
    model,
    complete: async () => {
      throw new ModelError('network', reason);
    },
  };
}

/** Credentials the environment offers for at least one provider of the route. */
export function hasCredentials(providers: string[]): boolean {
  const aws = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI || process.env.AWS_WEB_IDENTITY_TOKEN_FILE);
  return providers.some((p) => (p === 'bedrock' ? aws : p === 'anthropic' ? Boolean(process.env.ANTHROPIC_API_KEY) : p === 'openai-compatible' ? Boolean(process.env.OPENAI_API_KEY) : false));
}

/** Locally, API keys come from the usual variables before Secrets Manager. */
const fromSecretsManager = secretsManager();
function secretFromEnv(name: string): Promise<string> {
  const key = process.env.ANTHROPIC_API_KEY ?? process.env.OPENAI_API_KEY;
  return key ? Promise.resolve(key) : fromSecretsManager(name);
}
