import { CONTAINER_ENV } from '../../contract/config/settings';
import { ContainerHost, stopOnSignals, type InvocationTarget, type QueueSource } from './host';

/**
 * Starts the container host with the settings its construct gave the container, and stops it on
 * the signals ECS and Container Apps send. Each cloud's entry passes its own target and queue.
 */
export async function startContainer<M>(parts: { readonly target?: InvocationTarget; readonly queue?: QueueSource<M> }, env: NodeJS.ProcessEnv = process.env): Promise<ContainerHost<M>> {
  const grace = containerSetting(CONTAINER_ENV.graceSeconds, env);
  const host = new ContainerHost<M>({
    ...parts,
    port: containerSetting(CONTAINER_ENV.port, env) ?? 8080,
    ...(env.HOST && { host: env.HOST }),
    concurrency: containerSetting(CONTAINER_ENV.concurrency, env, 1) ?? 1,
    ...(grace !== undefined && { graceMs: grace * 1000 }),
  });
  stopOnSignals(host as ContainerHost<unknown>);
  await host.start();
  return host;
}

/**
 * A numeric setting of the container (CONTAINER_ENV), or undefined when unset. A value that is not
 * a whole number of at least `min` stops the container at start, naming the variable, rather than
 * running with a setting no one meant.
 */
export function containerSetting(name: string, env: NodeJS.ProcessEnv = process.env, min = 0): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number of at least ${min}; got "${text}"`);
  return value;
}
