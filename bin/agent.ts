#!/usr/bin/env node
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentTeamGraph } from '../contract/chain/team';
import { loadAgentFile } from '../contract/definition';
import type { RunResult } from '../functions/core/agent/agent';
import { chainOf, type AuditRecord } from '../functions/core/audit/records';
import { MemoryMetrics } from '../functions/core/telemetry/metrics';
import { localAgent, transcriptBeside, type LocalAgent } from '../functions/dev/local-agent';
import { LocalAgentTeam } from '../functions/local/team';

/**
 * Runs an agent of the example app on one prompt from the terminal, with the local skills folder:
 *
 *   npm run agent -- "I was charged twice for ord_12345678"
 *   npm run agent -- --agent path/to/x.agent.yaml --record run.json "..."   (live, and keep a transcript)
 *   npm run agent -- --transcript run.json "..."                              (offline replay)
 *   npm run agent -- --team stacks/multi-agent "..."                          (an orchestrator and its specialists)
 *
 * It runs live when the environment has credentials for the agent's route (AWS credentials for
 * Bedrock, ANTHROPIC_API_KEY for the Anthropic API), and otherwise replays the agent's recorded
 * transcript. With `--team`, every `*.agent.yaml` of the folder runs in this process as a team
 * (calls at once, hand-offs and jobs on an in-process queue), each agent live or from its own
 * `<name>.transcript.json`; `--record DIR` keeps one transcript per agent. Audit records go to
 * .agent-runs/.
 */
const root = resolve(__dirname, '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    agent: { type: 'string' },
    team: { type: 'string' },
    transcript: { type: 'string' },
    record: { type: 'string' },
  },
});
const prompt = positionals.join(' ').trim();
if (!prompt) {
  console.error('usage: npm run agent -- [--agent FILE | --team FOLDER [--agent NAME]] [--transcript FILE | --record FILE|DIR] "prompt"');
  process.exit(2);
}

async function main(): Promise<void> {
  const audit: AuditRecord[] = [];
  const metrics = new MemoryMetrics();
  const runId = `local-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const { agents, entry, team } = values.team ? await teamAgents(resolve(values.team), audit, metrics) : await singleAgent(audit, metrics);
  for (const [name, a] of agents) console.error(`${a.live ? "live" : `offline: replaying ${a.source}`} (agent ${name})`);

  const definition = entry.runtime.config.definition;
  const originalLog = console.log;
  console.log = () => {}; // the runtime's structured audit lines; they go to .agent-runs/ instead
  let result: RunResult;
  try {
    result = await entry.runtime.agent.run({ runId, input: prompt, trigger: 'local', deadline: Date.now() + definition.limits.timeoutSeconds * 1000 });
    await team?.idle();
  } finally {
    console.log = originalLog;
  }
  await Promise.all([...agents.values()].map((a) => a.runtime.close()));

  mkdirSync(join(root, '.agent-runs'), { recursive: true });
  writeFileSync(join(root, '.agent-runs', `${runId}.jsonl`), audit.map((r) => JSON.stringify(r)).join('\n') + '\n');
  if (values.record) {
    for (const [name, a] of agents) {
      const transcript = a.recorded();
      if (transcript) writeFileSync(values.team ? join(resolve(values.record), `${name}.transcript.json`) : resolve(values.record), JSON.stringify(transcript, null, 2) + '\n');
    }
  }

  console.log(answerText(result));
  const chain = chainOf(audit, runId);
  for (const run of chain.slice(1)) console.log(`--- ${run.agent} (${run.chain?.kind}, hop ${run.chain?.hop}) ---\n${run.structuredOutput !== undefined ? JSON.stringify(run.structuredOutput, null, 2) : run.output}`);
  console.error(
    [
      `agent ${definition.name} (${definition.cohort}) · ${entry.live ? 'live' : 'replayed'} on ${result.provider}/${result.model}`,
      `stop: ${result.stopReason} after ${result.steps} step(s) · tokens in ${result.usage.inputTokens} out ${result.usage.outputTokens} cached ${result.usage.cacheReadTokens} · $${result.costUsd.toFixed(6)}`,
      result.validation ? `output: ${result.validation.ok ? 'valid' : `INVALID: ${result.validation.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`}` : '',
      ...(chain.length > 1 ? [`chain ${runId}: ${chain.map((r) => `${r.agent}${r.chain ? ` (${r.chain.kind})` : ''} ${r.stopReason}`).join(' → ')}`] : []),
      `tool calls ${metrics.sum('ToolCalls')} · skills loaded ${metrics.sum('SkillActivations')} · audit .agent-runs/${runId}.jsonl`,
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

async function singleAgent(audit: AuditRecord[], metrics: MemoryMetrics) {
  const file = values.agent ?? join(root, 'stacks/single-agent/support.agent.yaml');
  const definition = loadAgentFile(resolve(file));
  const entry = await localAgent(definition, { root, transcriptPath: values.transcript ?? transcriptBeside(file), replay: Boolean(values.transcript), record: Boolean(values.record), audit: sinkInto(audit), metrics });
  return { agents: new Map([[definition.name, entry]]), entry, team: undefined };
}

/** Every agent of a folder as one team; the entry is `--agent NAME`, or the agent no other calls. */
async function teamAgents(folder: string, audit: AuditRecord[], metrics: MemoryMetrics) {
  const files = readdirSync(folder).filter((f) => /\.agent\.ya?ml$/.test(f)).map((f) => join(folder, f));
  const definitions = files.map((f) => loadAgentFile(f));
  const graph = new AgentTeamGraph(definitions);
  const team = new LocalAgentTeam();
  if (values.record) mkdirSync(resolve(values.record), { recursive: true });
  const agents = new Map<string, LocalAgent>();
  for (const [i, definition] of definitions.entries()) {
    const agent = await localAgent(definition, { root, transcriptPath: transcriptBeside(files[i]!), replay: false, record: Boolean(values.record), audit: sinkInto(audit), metrics, delegates: team.delegates(), callers: graph.callersOf(definition.name), inbox: team.inbox });
    team.add(agent.runtime);
    agents.set(definition.name, agent);
  }
  const name = values.agent ?? graph.names.find((n) => graph.callersOf(n).length === 0);
  const entry = name && agents.get(name);
  if (!entry) throw new Error(`no entry agent: name one with --agent (the team has ${graph.names.join(', ')})`);
  return { agents, entry, team };
}

const sinkInto = (records: AuditRecord[]) => ({ write: async (written: readonly AuditRecord[]) => void records.push(...written) });

function answerText(result: RunResult): string {
  return result.structuredOutput !== undefined ? JSON.stringify(result.structuredOutput, null, 2) : result.output;
}

main().catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
