import type { FunctionInput, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Approver } from '../../contract/jobs/approvals';
import { runTask } from '../entry/tasks';
import { recordChildReport } from '../entry/child-reports';
import type { QueuedRun } from '../entry/queued';
import { agentStep, approvalEventName, DURABLE_FUNCTIONS, orchestrateRun, type DurableRunInput, type OrchestrationCalls, type StepInput } from './durable';
import { json, jsonBody, otherAgent, parseMessage, reportOf, taskOf } from './handlers';
import type { AzureRuntime } from './runtime';

/**
 * A durable agent on Azure Functions: the orchestrator and its activity, registered from the same
 * configuration as the agent's other functions; its queue's messages start orchestrations whose
 * instance id is the run's id (a message delivered again starts nothing new); its approvals and
 * cancel routes reach the orchestration through the durable client.
 */

/** The part of a durable client (durable-functions' `DurableClient`) the agent uses. */
export interface DurableClientCalls {
  getStatus(instanceId: string): Promise<{ readonly runtimeStatus?: string } | undefined>;
  startNew(name: string, options: { readonly instanceId: string; readonly input: unknown }): Promise<string>;
  raiseEvent(instanceId: string, eventName: string, data: unknown): Promise<void>;
  terminate(instanceId: string, reason: string): Promise<void>;
}

/** What durable-functions provides to register with (its `app`, `input` and `getClient`). */
export interface DurableHost {
  orchestration(name: string, handler: (context: { readonly df: OrchestrationCalls & { getInput(): unknown } }) => Generator<unknown, unknown, unknown>): void;
  activity(name: string, options: { readonly handler: (input: StepInput) => Promise<unknown> }): void;
  client(): FunctionInput;
  getClient(context: InvocationContext): DurableClientCalls;
}

/** Registers the orchestrator and its activity. */
export function registerOrchestration(durable: DurableHost, getRuntime: () => Promise<AzureRuntime>): string[] {
  durable.orchestration(DURABLE_FUNCTIONS.orchestrator, function* (context) {
    return yield* orchestrateRun(context.df, context.df.getInput() as DurableRunInput);
  });
  durable.activity(DURABLE_FUNCTIONS.step, { handler: async (input) => agentStep(await getRuntime(), input) });
  return [DURABLE_FUNCTIONS.orchestrator, DURABLE_FUNCTIONS.step];
}

/**
 * Starts the orchestration of a queued run, once per run id: an instance that exists already (the
 * message delivered again, in any state) is left as it is; durable-functions would otherwise start a
 * finished one over.
 */
export async function startDurableRun(client: DurableClientCalls, run: QueuedRun): Promise<void> {
  if (await instanceExists(client, run.runId)) return;
  await client.startNew(DURABLE_FUNCTIONS.orchestrator, { instanceId: run.runId, input: { run } satisfies DurableRunInput });
}

async function instanceExists(client: DurableClientCalls, instanceId: string): Promise<boolean> {
  try {
    return (await client.getStatus(instanceId))?.runtimeStatus !== undefined;
  } catch (e) {
    if ((e as { status?: number; statusCode?: number }).status === 404 || (e as { statusCode?: number }).statusCode === 404 || /404|not found/i.test((e as Error).message)) return false;
    throw e;
  }
}

/** A task another agent sent a durable agent: checked as every task is, then started durably. */
export async function startDurableTask(runtime: AzureRuntime, client: DurableClientCalls, task: unknown, messageId: string, deadline: number): Promise<unknown> {
  return runTask(runtime, task, { deadline, messageId }, async (_runtime, run) => {
    await startDurableRun(client, run);
    return { status: 'running' };
  });
}

/**
 * Who calls, as App Service authentication (Entra ID) tells the app: the caller's object id and the
 * app roles in its token. App Service sets these headers, replacing any a caller sent, only with
 * that authentication on; AzureAgentFunction refuses an agent whose tools need approval without it.
 */
export function approverOf(request: Pick<HttpRequest, 'headers'>): Approver {
  const id = request.headers.get('x-ms-client-principal-id') ?? '';
  const encoded = request.headers.get('x-ms-client-principal');
  let roles: string[] = [];
  if (encoded) {
    try {
      const principal = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as { claims?: { typ?: string; val?: string }[] };
      roles = (principal.claims ?? []).filter((c) => c.typ === 'roles' || c.typ === 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role').map((c) => c.val ?? '');
    } catch {
      // Unreadable: no roles.
    }
  }
  return { id, roles };
}

/**
 * A message on a durable agent's queue: a task from another agent, checked and started; a job,
 * event or request body, started as an orchestration named after its run id; a malformed one,
 * recorded failed at once, as for any agent.
 */
export function durableQueueHandler(getRuntime: () => Promise<AzureRuntime>, durable: DurableHost, deadline: () => number, maxDeliveries?: number) {
  return async (message: unknown, context: InvocationContext): Promise<unknown> => {
    const { messageBody, runQueued } = await import('../entry/queued.js');
    const { parseRequestBody } = await import('../../contract/api/request.js');
    const messageId = String(context.triggerMetadata?.messageId ?? context.invocationId);
    const body = typeof message === 'string' ? messageBody(message) : message;
    const rt = await getRuntime();
    // A child's report starts nothing: it is kept on the run's record.
    const report = reportOf(body, rt.config.definition.name);
    if (report) return recordChildReport(rt.jobs, rt.config.definition.name, report.data, (line) => context.error(line));
    const client = durable.getClient(context);
    const task = taskOf(body);
    if (task !== undefined) return startDurableTask(rt, client, task, messageId, deadline());
    const run = parseMessage(body, messageId, parseRequestBody);
    if (run.invalid) return runQueued(rt, run, { deadline: deadline(), log: (line) => context.error(line) });
    try {
      return await startDurableRun(client, run);
    } catch (error) {
      // Its last delivery: Service Bus dead-letters the message, and the job record says so.
      const deliveries = Number(context.triggerMetadata?.deliveryCount ?? 1);
      if (maxDeliveries !== undefined && deliveries >= maxDeliveries) {
        await rt.jobs?.put({ jobId: run.runId, agent: rt.config.definition.name, status: 'dead_lettered', updatedAt: new Date().toISOString(), deliveries, error: `the durable run could not be started in ${deliveries} deliveries: ${(error as Error).message}` });
      }
      throw error;
    }
  };
}

/** The approvals and cancel routes, through the durable client. */
export function durableRoutes(getRuntime: () => Promise<AzureRuntime>, durable: DurableHost, agent: string) {
  return {
    async approvals(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
      const read = await jsonBody(agent, request, context);
      if ('response' in read) return read.response;
      const body = read.value;
      const { decideApproval, NoLongerWaiting } = await import('../entry/approvals.js');
      const client = durable.getClient(context);
      const jobId = request.params.jobId ?? '';
      const answer = await decideApproval(await getRuntime(), { jobId, approver: approverOf(request), body, requestId: context.invocationId }, async (waiting, decision) => {
        // An event for an orchestration that ended would wait unread: refused instead.
        const status = (await client.getStatus(jobId).catch(() => undefined))?.runtimeStatus;
        if (status !== 'Running' && status !== 'Pending') throw new NoLongerWaiting(`its orchestration is ${status ?? 'gone'}`);
        await client.raiseEvent(jobId, approvalEventName(waiting.step, waiting.callId), decision);
      });
      return json(answer.status, answer.body);
    },
    async cancel(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
      const other = otherAgent(agent, request, context);
      if (other) return other;
      const { cancelRun } = await import('../entry/approvals.js');
      const client = durable.getClient(context);
      const jobId = request.params.jobId ?? '';
      const by = approverOf(request).id;
      const answer = await cancelRun(await getRuntime(), { jobId, by, requestId: context.invocationId }, async () => {
        // A run still queued has no instance yet: recorded cancelled, its start finds it so.
        if (await instanceExists(client, jobId)) await client.terminate(jobId, `cancelled by ${by || 'an anonymous caller'}`);
      });
      return json(answer.status, answer.body);
    },
  };
}
