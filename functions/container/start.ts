import { CONTAINER_ENV } from '../../contract/config/settings';
import { ContainerHost, stopOnSignals, type InvocationTarget, type QueueSource } from './host';

/**
 * Starts the container host with the settings its construct gave the container, and stops it on
 * the signals ECS and Container Apps send. Each cloud's entry passes its own target and queue.
 */
export async function startContainer<M>(parts: { readonly target?: InvocationTarget; readonly queue?: QueueSource<M> }, env: NodeJS.ProcessEnv = process.env): Promise<ContainerHost<M>> {
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  const grace = number(CONTAINER_ENV.graceSeconds);
  const host = new ContainerHost<M>({
    ...parts,
    port: number(CONTAINER_ENV.port) ?? 8080,
    ...(env.HOST && { host: env.HOST }),
    concurrency: number(CONTAINER_ENV.concurrency) ?? 1,
    ...(grace !== undefined && { graceMs: grace * 1000 }),
  });
  stopOnSignals(host as ContainerHost<unknown>);
  await host.start();
  return host;
}
