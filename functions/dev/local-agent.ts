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
import type { MetricsSink } from '../core/telemetry/metrics';
import { assembleRuntime, type Runtime } from '../entry/assemble';
import { LocalSkillStore } from '../local/skill-store';
import { RecordingProvider, RecordingTools, ReplayProvider, ReplayTools, type Recording, type Transcript } from '../local/transcript';

/** One agent's runtime on a laptop: live (and maybe recording) or replaying its transcript. */
export interface LocalAgent {
  readonly runtime: Runtime;
  readonly live: boolean;
  /** The transcript it replays, when offline. */
  readonly source?: string;
  /** Why it has no model at all, when it has neither credentials nor a transcript. */
  readonly noModel?: string;
  /** What its live models and tools answered, in order, when recording. */
  readonly recording?: Recording;
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
  const replay = transcript && new ReplayTools(transcript);
  // Every target and every tool transport adds to one recording, in the order they answer.
  const recording: Recording | undefined = live && options.record ? { turns: [], toolResults: [] } : undefined;
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
            : recording
              ? async (target) => new RecordingProvider(await liveProviders(target), recording)
              : liveProviders,
        transports: (liveTools) =>
          replay
            ? { ...liveTools, http: replay, function: replay, mcp: replay }
            : recording
              ? {
                  ...liveTools,
                  http: new RecordingTools(liveTools.http!, recording),
                  ...(liveTools.mcp && { mcp: new RecordingTools(liveTools.mcp, recording) }),
                  ...(liveTools.function && { function: new RecordingTools(liveTools.function, recording) }),
                }
              : liveTools,
      },
    },
  );
  return {
    runtime,
    live,
    ...(transcript && { source: `${options.transcriptPath}${transcript.note ? ` (${transcript.note})` : ''}` }),
    ...(noModel && { noModel }),
    ...(recording && { recording }),
    recorded: () => (recording ? { agent: definition.name, recordedAt: new Date().toISOString(), turns: [...recording.turns], toolResults: [...recording.toolResults] } : undefined),
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
