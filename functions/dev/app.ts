import { existsSync, mkdirSync, readdirSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import { AgentTeamGraph } from '../../contract/chain/team';
import { loadAgentFile } from '../../contract/definition';
import { MemoryAuditSink, type AuditSink } from '../core/audit/records';
import { MemoryEventPublisher } from '../core/events/events';
import { MemoryMetrics } from '../core/telemetry/metrics';
import type { Runtime } from '../entry/assemble';
import { localAgent, transcriptBeside, type LocalAgent } from './local-agent';
import { LocalAgentTeam } from '../local/team';
import { RunRecorder } from './recorder';
import { startDevServer, type DevServer } from './server';

export interface DevAppOptions {
  /** The app's root: `cdk.json` (models, tool policies) and `skills/`. */
  readonly root: string;
  /** Folders whose `*.agent.yaml` agents are served, as one team. */
  readonly folders: readonly string[];
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0: any free port */
  readonly port?: number;
  /** Reload when a definition, instructions, transcript or skill changes. @default true */
  readonly watch?: boolean;
  /** Where it says what it does: each agent's mode at start, each reload. @default console.error */
  readonly log?: (line: string) => void;
  /** Deliveries before a job is dead-lettered. @default 3 */
  readonly maxDeliveries?: number;
  /** Where a live run saved from the console goes. @default `<root>/.agent-runs/transcripts` */
  readonly transcriptsDir?: string;
}

export interface DevApp {
  readonly server: DevServer;
  readonly url: string;
  /** Each agent's mode: `live`, or `replaying <transcript>`. */
  readonly modes: ReadonlyMap<string, string>;
  readonly audit: MemoryAuditSink;
  readonly events: MemoryEventPublisher;
  /** Builds every agent again from its files; a definition that fails keeps the agents as they were. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `npm run dev`: the app's agents on a laptop, one team (calls at once, hand-offs and jobs on
 * in-process queues), behind the deployed API's routes, each live when the environment has
 * credentials for its route and otherwise replaying its transcript from the start of every run,
 * rebuilt when one of their files changes.
 */
export async function startDevApp(options: DevAppOptions): Promise<DevApp> {
  const log = options.log ?? ((line: string) => console.error(line));
  const audit = new MemoryAuditSink();
  const recorder = new RunRecorder();
  /** The audit sink of `built`'s runs: a run's record, when it ends, marks what the agent's live recording gained as that run's. */
  const sinkOf = (built: { agent?: LocalAgent }): AuditSink => ({
    write: async (records) => {
      await audit.write(records);
      for (const r of records) if (r.type === 'run') recorder.ended(r.agent, r.runId, built.agent?.recording);
    },
  });
  const events = new MemoryEventPublisher();
  const team = new LocalAgentTeam(undefined, { log: () => {}, ...(options.maxDeliveries && { maxDeliveries: options.maxDeliveries }) });
  const modes = new Map<string, string>();
  const files = () => options.folders.flatMap((folder) => readdirSync(resolve(folder)).filter((f) => /\.agent\.ya?ml$/.test(f)).map((f) => join(resolve(folder), f)));

  /** Every agent built from its files, or the first problem. */
  async function build(): Promise<Map<string, LocalAgent>> {
    const paths = files();
    if (!paths.length) throw new Error(`no *.agent.yaml in ${options.folders.join(', ')}`);
    const definitions = paths.map((path) => loadAgentFile(path));
    const graph = new AgentTeamGraph(definitions);
    const built = new Map<string, LocalAgent>();
    for (const [i, definition] of definitions.entries()) {
      const made: { agent?: LocalAgent } = {};
      built.set(
        definition.name,
        (made.agent = await localAgent(definition, {
          root: options.root,
          transcriptPath: transcriptBeside(paths[i]!),
          replayEachRun: true,
          allowNoModel: true,
          record: true,
          audit: sinkOf(made),
          metrics: new MemoryMetrics(),
          events: team.events(events),
          delegates: team.delegates(),
          callers: graph.callersOf(definition.name),
          inbox: team.inbox,
        })),
      );
    }
    return built;
  }

  const modeOf = (agent: LocalAgent) => (agent.live ? 'live' : agent.source ? `replaying ${agent.source}` : `no model (${agent.noModel}): its runs end model_unavailable`);
  const first = await build();
  for (const [name, agent] of first) {
    team.add(agent.runtime);
    modes.set(name, modeOf(agent));
    log(`${name}: ${modeOf(agent)}`);
  }
  let runtimes: Runtime[] = [...first.values()].map((a) => a.runtime);
  const transcripts = options.transcriptsDir ?? join(options.root, '.agent-runs', 'transcripts');
  const saveTranscript = async (runId: string) => {
    const transcript = recorder.transcript(runId);
    if (!transcript) return undefined;
    mkdirSync(transcripts, { recursive: true });
    const path = join(transcripts, `${transcript.agent}-${runId.replace(/[^A-Za-z0-9._-]/g, '_')}.transcript.json`);
    writeFileSync(path, `${JSON.stringify(transcript, null, 2)}\n`);
    return path;
  };
  const server = await startDevServer({ agents: runtimes, audit, saveTranscript, modes: Object.fromEntries(modes), host: options.host ?? '127.0.0.1', port: options.port ?? 0, ...(options.maxDeliveries && { maxDeliveries: options.maxDeliveries }), log: () => {} });

  async function reload(): Promise<void> {
    let built: Map<string, LocalAgent>;
    try {
      built = await build();
    } catch (e) {
      log(`reload failed, serving the agents as they were: ${(e as Error).message}`);
      return;
    }
    const previous = runtimes;
    runtimes = [];
    for (const [name, agent] of built) {
      team.add(agent.runtime);
      server.replace(agent.runtime, modeOf(agent));
      modes.set(name, modeOf(agent));
      runtimes.push(agent.runtime);
    }
    log(`reloaded ${[...built.keys()].join(', ')}`);
    await Promise.all(previous.map((r) => r.close()));
  }

  const watchers: FSWatcher[] = [];
  if (options.watch !== false) {
    let timer: NodeJS.Timeout | undefined;
    // Editors write a file in several steps: one reload after the last of them.
    const changed = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), 150);
    };
    for (const folder of options.folders) watchers.push(watch(resolve(folder), changed));
    const skills = join(options.root, 'skills');
    if (existsSync(skills)) watchers.push(watch(skills, { recursive: true }, changed));
  }

  return {
    server,
    url: server.url,
    modes,
    audit,
    events,
    reload,
    close: async () => {
      for (const w of watchers) w.close();
      await server.close();
      await team.idle();
      await Promise.all(runtimes.map((r) => r.close()));
    },
  };
}
