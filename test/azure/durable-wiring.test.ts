import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvocationContext, output } from '@azure/functions';
import { MemoryJobStore } from '../../functions/core/jobs/jobs';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime } from '../../functions/entry/assemble';
import { Testing } from '../../constructs/azure/engine';
import { defineAgent } from '../../contract/definition';
import { DURABLE_FUNCTIONS } from '../../functions/azure/durable';
import type { DurableHost } from '../../functions/azure/durable-app';
import { approverOf, durableQueueHandler, startDurableRun } from '../../functions/azure/durable-app';
import { registerAgent } from '../../functions/azure/register';
import { AzureSingleAgentStack } from '../../stacks/single-agent/azure-single-agent-stack';
import { agentInput } from '../helpers';
import { AZURE_ROUTER } from '../__fixtures__/azure-synth';

/** A durable agent with a job trigger and a tool that needs approval, as a team would define it. */
const durableAgent = () =>
  defineAgent(
    agentInput({
      durable: true,
      limits: { timeoutSeconds: 7 * 86_400 },
      triggers: [{ type: 'api' }, { type: 'job' }],
      tools: [{ name: 'issue_refund', description: 'Refund.', kind: 'http', url: 'https://pay.example.com/refunds', sideEffect: 'write', input: { type: 'object' }, approval: { approvers: ['role:finance-lead'] } }],
    }),
  );

describe('a durable agent on Azure Functions', () => {
  const stack = new AzureSingleAgentStack(Testing.app(), 'durable', { location: 'westeurope', models: AZURE_ROUTER as never, agents: [durableAgent()] });
  const tf = JSON.parse(Testing.synth(stack)) as { resource: Record<string, Record<string, Record<string, any>>> };

  it("gives the agent's identity the queue and table data roles the Storage backend needs on its own state account, by identity, with no key", () => {
    const roles = Object.values(tf.resource.azurerm_role_assignment ?? {});
    const onState = (role: string) => roles.filter((r) => r.role_definition_name === role && /azurerm_storage_account\.[^.]*State[^.]*\.id/.test(r.scope));
    assert.equal(onState('Storage Queue Data Contributor').length, 1);
    assert.equal(onState('Storage Table Data Contributor').length, 1);
    const [app] = Object.values(tf.resource.azurerm_linux_function_app!);
    assert.equal(app!.storage_uses_managed_identity, true);
    assert.equal(app!.storage_account_access_key, undefined);
    assert.ok(!JSON.stringify(app!.app_settings).includes('AccountKey='), 'no connection string with a key');
  });

  it('keeps each invocation within the plan\'s function timeout (10 minutes on Consumption) however long the run, and gives the run a private container for what it keeps by reference', () => {
    const [app] = Object.values(tf.resource.azurerm_linux_function_app!);
    assert.equal(app!.app_settings.AzureFunctionsJobHost__functionTimeout, '00:10:00');
    const containers = Object.values(tf.resource.azurerm_storage_container!).map((c) => c.name);
    assert.ok(containers.includes('durable'));
  });

  it('registers the orchestrator, its activity, the queue as a starter with a durable client, and the approvals and cancel routes', () => {
    const calls: { kind: string; name: string; options: Record<string, any> }[] = [];
    const record = (kind: string) => (name: string, options: Record<string, any>) => void calls.push({ kind, name, options });
    const clientBinding = { type: 'durableClient', name: 'starter' };
    const durable: DurableHost = {
      orchestration: (name) => void calls.push({ kind: 'orchestration', name, options: {} }),
      activity: (name, options) => void calls.push({ kind: 'activity', name, options }),
      client: () => clientBinding as never,
      getClient: () => assert.fail('not called at registration'),
    };
    const names = registerAgent({ http: record('http'), serviceBusQueue: record('serviceBusQueue'), eventGrid: record('eventGrid'), timer: record('timer') } as never, output, { definition: durableAgent(), route: [] }, () => Promise.reject(new Error('unused')), {}, durable);
    assert.deepEqual(names, ['invoke', 'submit-job', 'job-status', 'approvals', 'cancel', 'queue', DURABLE_FUNCTIONS.orchestrator, DURABLE_FUNCTIONS.step]);
    const http = Object.fromEntries(calls.filter((c) => c.kind === 'http').map((c) => [c.name, c.options]));
    assert.deepEqual([http.approvals!.route, http.approvals!.methods, http.approvals!.extraInputs], ['agents/{name}/jobs/{jobId}/approvals', ['POST'], [clientBinding]]);
    assert.deepEqual([http.cancel!.route, http.cancel!.extraInputs], ['agents/{name}/jobs/{jobId}/cancel', [clientBinding]]);
    assert.deepEqual(calls.find((c) => c.kind === 'serviceBusQueue')!.options.extraInputs, [clientBinding]);
    assert.throws(() => registerAgent({ http: record('http'), serviceBusQueue: record('serviceBusQueue'), eventGrid: record('eventGrid'), timer: record('timer') } as never, output, { definition: durableAgent(), route: [] }, () => Promise.reject(new Error('unused')), {}), /agent helper is durable/);
  });

  it('starts one orchestration per run id: a message delivered again starts nothing new, whatever state the first is in', async () => {
    const started: string[] = [];
    const instances = new Map<string, string>();
    const client = {
      getStatus: async (id: string) => (instances.has(id) ? { runtimeStatus: instances.get(id)! } : Promise.reject(Object.assign(new Error('404 not found'), { status: 404 }))),
      startNew: async (_name: string, options: { instanceId: string }) => (started.push(options.instanceId), instances.set(options.instanceId, 'Running'), options.instanceId),
      raiseEvent: async () => {},
      terminate: async () => {},
    };
    const run = { runId: 'job-7', jobId: 'job-7', trigger: 'job' as const, input: 'Refund.' };
    await startDurableRun(client, run);
    await startDurableRun(client, run);
    instances.set('job-7', 'Completed');
    await startDurableRun(client, run);
    assert.deepEqual(started, ['job-7']);
  });

  it('knows the approver from App Service authentication only: its object id and app roles', () => {
    const principal = Buffer.from(JSON.stringify({ claims: [{ typ: 'roles', val: 'finance-lead' }, { typ: 'name', val: 'Ana' }] })).toString('base64');
    const headers = new Headers({ 'x-ms-client-principal-id': 'oid-123', 'x-ms-client-principal': principal });
    assert.deepEqual(approverOf({ headers }), { id: 'oid-123', roles: ['finance-lead'] });
    assert.deepEqual(approverOf({ headers: new Headers() }), { id: '', roles: [] });
  });

  it('dead-letters a job whose orchestration cannot be started by its last delivery, and says so on its record', async () => {
    const jobs = new MemoryJobStore();
    const rt = await assembleRuntime({ definition: durableAgent(), route: [{ provider: 'bedrock', model: 'm' }] }, { jobs, metrics: new MemoryMetrics(), secret: async () => '' });
    const durable: DurableHost = {
      orchestration: () => {},
      activity: () => {},
      client: () => ({}) as never,
      getClient: () => ({
        getStatus: async () => Promise.reject(Object.assign(new Error('not found'), { status: 404 })),
        startNew: async () => Promise.reject(new Error('the task hub is unreachable')),
        raiseEvent: async () => {},
        terminate: async () => {},
      }),
    };
    const handler = durableQueueHandler(async () => rt as never, durable, () => Date.now() + 60_000, 3);
    const deliver = (deliveryCount: number) => handler({ jobId: 'job-stuck', input: 'Refund.' }, new InvocationContext({ invocationId: `inv-${deliveryCount}`, functionName: 'queue', triggerMetadata: { deliveryCount, messageId: 'msg-stuck' } }));
    await assert.rejects(deliver(1), /unreachable/);
    assert.equal(await jobs.get('job-stuck'), undefined, 'Service Bus delivers it again');
    await assert.rejects(deliver(3), /unreachable/);
    const record = (await jobs.get('job-stuck'))!;
    assert.equal(record.status, 'dead_lettered');
    assert.match(record.error!, /could not be started in 3 deliveries: the task hub is unreachable/);
  });
});
