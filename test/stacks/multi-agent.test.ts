import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { MultiAgentStack } from '../../stacks/multi-agent/multi-agent-stack';
import { exampleTeam } from '../../stacks/multi-agent/team-agents';
import { ROUTER } from '../helpers';

const env = { account: '123456789012', region: 'eu-west-1' };
const policies = { support: { allowedScopes: ['orders:read', 'status:read', 'tickets:write', 'refunds:write'], deniedTools: [], allowWrite: true } };

describe('MultiAgentStack', () => {
  it('deploys the triage orchestrator and its two specialists, each with its own function, role and queue', () => {
    const stack = new MultiAgentStack(new App(), 'Stage2', { env, models: ROUTER, toolPolicies: policies });
    const template = Template.fromStack(stack);
    assert.deepEqual(stack.agents.map((a) => a.agentName), ['triage', 'billing', 'technical']);
    assert.ok(stack.agents.every((a) => a.queue), 'every member has a queue: jobs, hand-offs and delegations arrive there');
    const withConfig = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) => f.Properties.Environment?.Variables?.AGENT_CONFIG);
    // billing is durable: its queue feeds a starter, which carries its configuration too.
    const agentFunctions = withConfig.filter((f) => !f.Properties.Environment.Variables.AGENT_DURABLE_TARGET);
    assert.equal(agentFunctions.length, 3);
    assert.equal(withConfig.length, 4);
    const billing = stack.agents.find((a) => a.agentName === 'billing')!;
    assert.ok(billing.alias && billing.starter && !stack.agents.find((a) => a.agentName === 'triage')!.alias, 'only billing is durable');
    assert.equal(new Set(agentFunctions.map((f) => f.Properties.Role['Fn::GetAtt'][0])).size, 3, 'one role per agent');
    assert.equal(Object.keys(template.findResources('AWS::Events::Rule')).filter((id) => id.includes('Tasks')).length, 3, 'billing takes jobs, technical takes hand-offs, triage (which takes jobs) the reports of their ends');
  });

  it('gives each specialist its own skills and tools, from the same definitions Azure deploys', () => {
    const [triage, billing, technical] = exampleTeam();
    assert.deepEqual([triage!.skills, billing!.skills, technical!.skills], [['ticket-triage'], ['refund-requests'], ['troubleshooting']]);
    assert.deepEqual(billing!.tools.map((t) => t.name), ['lookup_order', 'create_ticket', 'issue_refund']);
    assert.deepEqual([billing!.durable, billing!.tools[2]!.approval?.approvers], [true, ['role:finance-lead']]);
    assert.deepEqual(technical!.tools.map((t) => t.name), ['service_status', 'create_ticket']);
    assert.deepEqual(triage!.handoffs.map((h) => h.agent), ['technical']);
    assert.deepEqual(triage!.tools.map((t) => (t.kind === 'agent' ? [t.agent, t.mode] : t.kind)), [['billing', 'call'], ['billing', 'job']]);
  });

  it('passes the AwsSolutions and Serverless rule packs with every finding acknowledged for a reason', () => {
    const app = new App();
    new MultiAgentStack(app, 'Stage2', { env, models: ROUTER, toolPolicies: policies });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    assert.doesNotThrow(() => app.synth());
  });
});
