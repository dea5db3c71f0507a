import type { app as functionsApp, output as functionsOutput } from '@azure/functions';
import { AZURE_FUNCTIONS, AZURE_RUNTIME_ENV } from '../../contract/config/settings';
import { type AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { durableQueueHandler, durableRoutes, registerOrchestration, type DurableHost } from './durable-app';
import { agentHandlers } from './handlers';
import type { AzureRuntime } from './runtime';

const ENV = AZURE_RUNTIME_ENV;
const AUTH_LEVELS = ['function', 'anonymous', 'admin'] as const;


/**
 * Registers the agent's functions with the Functions host, only those its triggers need. Queue,
 * schedule and HTTP settings are app-setting references (`%NAME%`) filled in by AzureAgentFunction,
 * so one package serves every agent.
 */
export function registerAgent(
  host: Pick<typeof functionsApp, 'http' | 'serviceBusQueue' | 'eventGrid' | 'timer'>,
  output: Pick<typeof functionsOutput, 'serviceBusQueue'>,
  config: AgentRuntimeConfig,
  getRuntime: () => Promise<AzureRuntime>,
  env: NodeJS.ProcessEnv = process.env,
  /** durable-functions, for a durable agent. */
  durable?: DurableHost,
): string[] {
  if (config.definition.durable && !durable) throw new Error(`agent ${config.definition.name} is durable: register it with durable-functions`);
  const durableApp = config.definition.durable ? durable : undefined;
  const authLevel = (env[ENV.httpAuthLevel] ?? 'function') as (typeof AUTH_LEVELS)[number];
  if (!AUTH_LEVELS.includes(authLevel)) throw new Error(`${ENV.httpAuthLevel} must be one of ${AUTH_LEVELS.join(', ')}, got "${authLevel}"`);
  const queue = { queueName: `%${ENV.queue}%`, connection: ENV.serviceBusConnection };
  const jobs = output.serviceBusQueue(queue);
  const maxDeliveries = Number(env[ENV.queueMaxDeliveries]) || undefined;
  const maxEventDeliveries = Number(env[ENV.eventsMaxDeliveries]) || undefined;
  const handlers = agentHandlers(config, getRuntime, jobs, { ...(maxDeliveries && { maxDeliveries }), ...(maxEventDeliveries && { maxEventDeliveries }) });
  const kinds = new Set(config.definition.triggers.map((t) => t.type));
  const registered: string[] = [];
  const route = `agents/{name}`;
  if (kinds.has('api')) {
    host.http(AZURE_FUNCTIONS.invoke, { methods: ['POST'], authLevel, route: `${route}/invocations`, handler: handlers.invoke });
    registered.push(AZURE_FUNCTIONS.invoke);
  }
  if (kinds.has('job')) {
    host.http(AZURE_FUNCTIONS.submitJob, { methods: ['POST'], authLevel, route: `${route}/jobs`, extraOutputs: [jobs], handler: handlers.submitJob });
    host.http(AZURE_FUNCTIONS.jobStatus, { methods: ['GET'], authLevel, route: `${route}/jobs/{jobId}`, handler: handlers.jobStatus });
    registered.push(AZURE_FUNCTIONS.submitJob, AZURE_FUNCTIONS.jobStatus);
    if (durableApp) {
      const routes = durableRoutes(getRuntime, durableApp, config.definition.name);
      const client = durableApp.client();
      host.http(AZURE_FUNCTIONS.approvals, { methods: ['POST'], authLevel, route: `${route}/jobs/{jobId}/approvals`, extraInputs: [client], handler: routes.approvals });
      host.http(AZURE_FUNCTIONS.cancel, { methods: ['POST'], authLevel, route: `${route}/jobs/{jobId}/cancel`, extraInputs: [client], handler: routes.cancel });
      registered.push(AZURE_FUNCTIONS.approvals, AZURE_FUNCTIONS.cancel);
    }
  }
  // The agents of its team that may send it tasks call its task route, with an Entra ID token in
  // Azure; their jobs and hand-offs arrive on its queue.
  const callers = config.callers ?? [];
  if (callers.length) {
    host.http(AZURE_FUNCTIONS.task, { methods: ['POST'], authLevel, route: `${route}/tasks`, handler: handlers.task });
    registered.push(AZURE_FUNCTIONS.task);
  }
  if (kinds.has('job') || kinds.has('queue') || (callers.length && env[ENV.queue])) {
    // A durable agent's queue starts orchestrations; the orchestrations run the runs.
    if (durableApp) {
      const deadline = () => Date.now() + config.definition.limits.timeoutSeconds * 1000;
      host.serviceBusQueue(AZURE_FUNCTIONS.queue, { ...queue, extraInputs: [durableApp.client()], handler: durableQueueHandler(getRuntime, durableApp, deadline, maxDeliveries) });
    } else host.serviceBusQueue(AZURE_FUNCTIONS.queue, { ...queue, handler: handlers.queueMessage });
    registered.push(AZURE_FUNCTIONS.queue);
  }
  if (kinds.has('event')) {
    host.eventGrid(AZURE_FUNCTIONS.events, { handler: handlers.event });
    registered.push(AZURE_FUNCTIONS.events);
  }
  config.definition.triggers
    .filter((t) => t.type === 'schedule')
    .forEach((_, i) => {
      host.timer(AZURE_FUNCTIONS.schedule(i), { schedule: `%${ENV.schedule(i)}%`, handler: handlers.schedule(i) });
      registered.push(AZURE_FUNCTIONS.schedule(i));
    });
  if (durableApp) registered.push(...registerOrchestration(durableApp, getRuntime));
  return registered;
}
