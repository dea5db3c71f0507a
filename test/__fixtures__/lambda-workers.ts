import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** An agent's function in a process of its own (see lambda-worker.ts). */
export interface LambdaWorker {
  invoke(event: unknown, timeoutMs?: number): Promise<unknown>;
  /** The worker's log lines (stdout and stderr), for a failing test to show. */
  readonly logs: string[];
  stop(): void;
}

export async function startLambdaWorker(env: Record<string, string>): Promise<LambdaWorker> {
  const child: ChildProcess = fork(join(__dirname, 'lambda-worker.ts'), [], { env: { PATH: process.env.PATH!, ...env }, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const logs: string[] = [];
  child.stdout!.on('data', (chunk) => logs.push(String(chunk)));
  child.stderr!.on('data', (chunk) => logs.push(String(chunk)));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code}: ${logs.join('')}`)));
    child.on('message', (m: { ready?: boolean; id?: number; result?: unknown; error?: { name: string; message: string } }) => {
      if (m.ready) return resolve();
      const waiting = pending.get(m.id!);
      pending.delete(m.id!);
      if (m.error) waiting?.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
      else waiting?.resolve(m.result);
    });
  });
  child.removeAllListeners('exit');
  child.unref();
  (child as unknown as { channel?: { unref(): void } }).channel?.unref();
  return {
    logs,
    invoke: (event, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        pending.set(id, { resolve, reject });
        child.send({ id, event, timeoutMs });
      }),
    stop: () => child.kill(),
  };
}
