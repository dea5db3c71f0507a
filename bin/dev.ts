#!/usr/bin/env node
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDevApp } from '../functions/dev/app';

/**
 * `npm run dev`: the app's agents behind the deployed API's routes on this machine, reloaded when
 * their files change.
 *
 *   npm run dev                                      (the example app's agents, on 127.0.0.1:8787)
 *   npm run dev -- --agents stacks/multi-agent       (one folder's agents; repeat for more)
 *   npm run dev -- --port 9000 --host 0.0.0.0        (reachable from elsewhere: nothing authenticates)
 */
const root = resolve(__dirname, '..');
const EXAMPLE_FOLDERS = ['stacks/single-agent', 'stacks/multi-agent', 'stacks/hybrid'];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { agents: { type: 'string', multiple: true }, port: { type: 'string', default: '8787' }, host: { type: 'string', default: '127.0.0.1' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, not "${values.port}"`);
  const here = process.env.INIT_CWD ?? process.cwd();
  const folders = values.agents?.map((f) => resolve(here, f)) ?? EXAMPLE_FOLDERS.map((f) => join(root, f));
  // The runtime's structured lines (an audit copy of every record, metrics) go to a file, not the
  // terminal: the console shows the runs, and the file keeps them for grep.
  const logFile = join(root, '.agent-runs', `dev-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  mkdirSync(dirname(logFile), { recursive: true });
  console.log = (...args: unknown[]) => appendFileSync(logFile, `${args.map(String).join(' ')}\n`);
  const app = await startDevApp({ root, folders, host: values.host!, port });
  if (values.host !== '127.0.0.1' && values.host !== 'localhost') console.error(`warning: listening on ${values.host}: nothing authenticates requests to this server`);
  console.error(`serving ${app.modes.size} agent(s) at ${app.url} (POST /agents/{name}/invocations, POST /agents/{name}/jobs, GET /agents/{name}/jobs/{jobId}); the console at ${app.url}/; the runtime's log lines in ${logFile}; Ctrl-C stops`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
