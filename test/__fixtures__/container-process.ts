import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute, join } from 'node:path';

/** A container entry started as a plain Node process, as the image's CMD starts it. */
export interface ContainerProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Its log lines, parsed where they are JSON. */
  readonly lines: Record<string, unknown>[];
  /** Sends a signal and waits for the process to exit; resolves with its exit code. */
  signal(signal: NodeJS.Signals): Promise<number | null>;
  /** Waits until a log line matches. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const ROOT = join(__dirname, '..', '..');

/**
 * Starts `entry` with `env` only, on an ephemeral loopback port: a source path from the repository
 * root (run with tsx), or an absolute path to a bundled `.mjs` (run with plain Node, as the image does).
 */
export async function startContainerProcess(entry: string, env: Record<string, string>): Promise<ContainerProcess> {
  const bundled = isAbsolute(entry) && entry.endsWith('.mjs');
  const child: ChildProcess = spawn(process.execPath, bundled ? [entry] : ['--import', 'tsx', join(ROOT, entry)], {
    env: { PATH: process.env.PATH!, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const watchers = new Set<() => void>();
  let buffer = '';
  const take = (chunk: Buffer) => {
    buffer += String(chunk);
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const part of parts.filter(Boolean)) {
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        lines.push({ text: part });
      }
    }
    for (const watch of watchers) watch();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const line = lines.find(match);
        if (line) return done(() => resolve(line));
      };
      const done = (then: () => void) => (watchers.delete(check), clearTimeout(timer), then());
      const timer = setTimeout(() => done(() => reject(new Error(`no matching line in ${timeoutMs} ms; the process said:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`))), timeoutMs);
      watchers.add(check);
      void exited.then((code) => done(() => (lines.find(match) ? resolve(lines.find(match)!) : reject(new Error(`the process exited (${code}) before a matching line:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)))));
      check();
    });
  const started = await waitFor((l) => l.message === 'container host started');
  // Never outlive the test run.
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  guard.unref();
  void exited.then(() => clearTimeout(guard));
  return {
    url: `http://127.0.0.1:${started.port as number}`,
    lines,
    waitFor,
    signal: (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}
