#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAgentFile } from '../contract/definition';
import { toolPolicySchema } from '../contract/policy/tool-policy';
import { parseRouterConfig, pricesFor, resolveModel, toRuntimeTarget } from '../contract/routing/config';
import { awsProviders, LambdaInvoker, secretsManager } from '../functions/aws/adapters';
import type { AuditRecord } from '../functions/core/audit/records';
import { MemoryMetrics } from '../functions/core/telemetry/metrics';
import { assembleRuntime } from '../functions/entry/assemble';
import { LocalSkillStore } from '../functions/local/skill-store';
import { RecordingProvider, RecordingTools, ReplayProvider, ReplayTools, type Transcript } from '../functions/local/transcript';

/**
 * Runs an agent of the example app on one prompt from the terminal, with the local skills folder:
 *
 *   npm run agent -- "I was charged twice for ord_12345678"
 *   npm run agent -- --agent path/to/x.agent.yaml --record run.json "..."   (live, and keep a transcript)
 *   npm run agent -- --transcript run.json "..."                              (offline replay)
 *
 * It runs live when the environment has credentials for the agent's route (AWS credentials for
 * Bedrock, ANTHROPIC_API_KEY for the Anthropic API), and otherwise replays the agent's recorded
 * transcript. Audit records go to .agent-runs/.
 */
const root = resolve(__dirname, '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    agent: { type: 'string', default: join(root, 'stacks/single-agent/support.agent.yaml') },
    transcript: { type: 'string' },
    record: { type: 'string' },
  },
});
const prompt = positionals.join(' ').trim();
if (!prompt) {
  console.error('usage: npm run agent -- [--agent FILE] [--transcript FILE | --record FILE] "prompt"');
  process.exit(2);
}

async function main(): Promise<void> {
  const definition = loadAgentFile(resolve(values.agent!));
  const context = (JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context: { models: unknown; toolPolicies?: Record<string, unknown> } }).context;
  const policy = parseRouterConfig(context.models, 'cdk.json models');
  const route = resolveModel(policy, definition).map(toRuntimeTarget);
  const toolPolicy = toolPolicySchema.parse(context.toolPolicies?.[definition.cohort] ?? {});
  const transcriptPath = values.transcript ?? join(dirname(resolve(values.agent!)), `${basename(values.agent!).replace(/\.agent\.ya?ml$/, '')}.transcript.json`);
  const live = !values.transcript && hasCredentials(route.map((t) => t.provider));

  let transcript: Transcript | undefined;
  if (!live) {
    if (!existsSync(transcriptPath)) throw new Error(`no credentials for ${route.map((t) => t.provider).join(', ')} and no transcript at ${transcriptPath}`);
    transcript = JSON.parse(readFileSync(transcriptPath, 'utf8')) as Transcript;
    console.error(`offline: replaying ${transcriptPath}${transcript.note ? ` (${transcript.note})` : ''}`);
  }
  const recorders: { providers: RecordingProvider[]; tools?: RecordingTools } = { providers: [] };
  const replay = transcript && new ReplayTools(transcript);

  const audit: AuditRecord[] = [];
  const metrics = new MemoryMetrics();
  const runtime = await assembleRuntime(
    { definition, route, prices: pricesFor(policy, route.map((t) => t.model)), toolPolicy },
    {
      skills: new LocalSkillStore(join(root, 'skills')),
      audit: { write: async (records) => void audit.push(...records) },
      metrics,
      secret: secretFromEnv,
      providers: awsProviders(process.env.AWS_REGION ?? 'us-east-1'),
      functions: new LambdaInvoker(),
      replace: {
        providers: (liveProviders) =>
          transcript
            ? async (target) => new ReplayProvider(target.model, transcript!)
            : values.record
              ? async (target) => {
                  const provider = new RecordingProvider(await liveProviders(target));
                  recorders.providers.push(provider);
                  return provider;
                }
              : liveProviders,
        transports: (liveTools) =>
          replay ? { http: replay, function: replay, mcp: replay } : values.record ? { ...liveTools, http: (recorders.tools = new RecordingTools(liveTools.http!)) } : liveTools,
      },
    },
  );
  const { agent } = runtime;
  const runId = `local-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const originalLog = console.log;
  console.log = () => {}; // the runtime's structured audit lines; they go to .agent-runs/ instead
  const result = await agent.run({ runId, input: prompt, trigger: 'local', deadline: Date.now() + definition.limits.timeoutSeconds * 1000 }).finally(() => (console.log = originalLog));
  await runtime.close();

  mkdirSync(join(root, '.agent-runs'), { recursive: true });
  writeFileSync(join(root, '.agent-runs', `${runId}.jsonl`), audit.map((r) => JSON.stringify(r)).join('\n') + '\n');
  if (live && values.record) {
    const transcript: Transcript = {
      agent: definition.name,
      recordedAt: new Date().toISOString(),
      turns: recorders.providers.flatMap((p) => p.turns),
      toolResults: recorders.tools?.results ?? [],
    };
    writeFileSync(resolve(values.record), JSON.stringify(transcript, null, 2) + '\n');
  }

  console.log(result.structuredOutput !== undefined ? JSON.stringify(result.structuredOutput, null, 2) : result.output);
  console.error(
    [
      `agent ${definition.name} (${definition.cohort}) · ${live ? 'live' : 'replayed'} on ${result.provider}/${result.model}`,
      `stop: ${result.stopReason} after ${result.steps} step(s) · tokens in ${result.usage.inputTokens} out ${result.usage.outputTokens} cached ${result.usage.cacheReadTokens} · $${result.costUsd.toFixed(6)}`,
      result.validation ? `output: ${result.validation.ok ? 'valid' : `INVALID: ${result.validation.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`}` : '',
      `tool calls ${metrics.sum('ToolCalls')} · skills loaded ${metrics.sum('SkillActivations')} · audit .agent-runs/${runId}.jsonl`,
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

/** Credentials the environment offers for at least one provider of the route. */
function hasCredentials(providers: string[]): boolean {
  const aws = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI || process.env.AWS_WEB_IDENTITY_TOKEN_FILE);
  return providers.some((p) => (p === 'bedrock' ? aws : p === 'anthropic' ? Boolean(process.env.ANTHROPIC_API_KEY) : p === 'openai-compatible' ? Boolean(process.env.OPENAI_API_KEY) : false));
}

/** Locally, API keys come from the usual variables before Secrets Manager. */
const fromSecretsManager = secretsManager();
function secretFromEnv(name: string): Promise<string> {
  const key = process.env.ANTHROPIC_API_KEY ?? process.env.OPENAI_API_KEY;
  return key ? Promise.resolve(key) : fromSecretsManager(name);
}

main().catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
