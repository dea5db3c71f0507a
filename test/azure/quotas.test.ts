import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AzurermProvider, ServicePlan, StorageAccount, TerraformStack, Testing } from '../../constructs/azure/engine';
import type { AzureAgentEvents } from '../../constructs/azure/agent-events';
import { AZURE_QUOTAS, azureQuotaProblems } from '../../constructs/azure/quotas';
import { agentInput } from '../helpers';
import { azureAgent } from '../__fixtures__/azure-synth';

const LOCATION = { resourceGroupName: 'agents', location: 'westeurope' };

describe('Azure quotas at synth', () => {
  it('passes an app within every quota, and names each quota an app passes, with its scope and what to do', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'agents');
    new AzurermProvider(stack, 'Azure', { features: [{}], subscriptionId: '00000000-0000-0000-0000-000000000001' });
    azureAgent(stack, { agent: agentInput({ triggers: [{ type: 'api' }] }) });
    assert.deepEqual(azureQuotaProblems(app), []);
    for (let i = 0; i < 100; i++) new ServicePlan(stack, `Plan${i}`, { name: `plan-${i}`, ...LOCATION, osType: 'Linux', skuName: 'Y1' });
    for (let i = 0; i < 250; i++) new StorageAccount(stack, `Account${i}`, { name: `account${i}`, ...LOCATION, accountTier: 'Standard', accountReplicationType: 'LRS' });
    const problems = azureQuotaProblems(app);
    assert.deepEqual(problems.map((p) => /^Azure quota "([\w-]+)"/.exec(p)![1]).sort(), ['consumption-plans', 'storage-accounts']);
    assert.ok(problems.includes('Azure quota "consumption-plans": the app declares 101 Linux Consumption (Y1) plans in subscription 00000000-0000-0000-0000-000000000001, region westeurope, over Azure\'s 100; share a plan among agents (up to 100 apps each), or spread agents over regions or subscriptions'), problems.join('\n'));
    assert.match(problems.find((p) => p.includes('storage-accounts'))!, /declares 25\d storage accounts in subscription [0-9-]+, region westeurope, over Azure's 250/);
  });

  it('counts per region and subscription: the same resources split over two regions pass', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'agents');
    for (let i = 0; i < 150; i++) new ServicePlan(stack, `Plan${i}`, { name: `plan-${i}`, resourceGroupName: 'agents', location: i % 2 ? 'westeurope' : 'northeurope', osType: 'Linux', skuName: 'Y1' });
    assert.deepEqual(azureQuotaProblems(app), []);
  });

  it('counts apps on one plan, and fails synth itself naming the quota', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'agents');
    const tight = AZURE_QUOTAS.map((q) => (q.id === 'apps-per-plan' ? { ...q, limit: 0 } : q));
    azureAgent(stack, { agent: agentInput({ triggers: [{ type: 'api' }] }) });
    assert.deepEqual(azureQuotaProblems(app, tight).map((p) => /^Azure quota "([\w-]+)"/.exec(p)![1]), ['apps-per-plan']);
    for (let i = 0; i < 101; i++) new ServicePlan(stack, `Plan${i}`, { name: `plan-${i}`, ...LOCATION, osType: 'Linux', skuName: 'Y1' });
    assert.throws(() => Testing.synth(stack, true), /Azure quota "consumption-plans": the app declares 102 Linux Consumption \(Y1\) plans/);
  });
});

describe('Azure quotas on a topic', () => {
  it('counts event subscriptions per custom topic, each agent trigger and each queue delivery one', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'agents');
    const agent = azureAgent(stack, { agent: agentInput({ triggers: [{ type: 'event', pattern: { detailType: ['order.placed'] } }] }) });
    const tight = AZURE_QUOTAS.map((q) => (q.id === 'event-subscriptions' ? { ...q, limit: 1 } : q));
    assert.deepEqual(azureQuotaProblems(app, tight), []);
    (agent.node.scope!.node.findChild('Events') as AzureAgentEvents).deliverToQueue('tasks-helper', agent.queue!, ['handoff.to.helper']);
    assert.deepEqual(azureQuotaProblems(app, tight), ['Azure quota "event-subscriptions": the app declares 2 event subscriptions to one Event Grid custom topic in topic agents/Events, over Azure\'s 1; give some agents a topic of their own (an AzureAgentEvents per group of agents), or deliver several agents\' events through one subscription into a queue']);
    assert.equal(AZURE_QUOTAS.find((q) => q.id === 'event-subscriptions')!.limit, 500);
  });
});
