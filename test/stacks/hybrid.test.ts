import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { parse } from 'yaml';
import { Template } from 'aws-cdk-lib/assertions';
import { AgentContainer, AgentFunction } from '../../constructs/aws';
import { defineAgent, loadAgentFile } from '../../contract/definition';
import { HybridStack } from '../../stacks/hybrid/hybrid-stack';
import { exampleHybrid } from '../../stacks/hybrid/hybrid-agents';
import { reportingApp, ROUTER, synthWithRulePacks } from '../helpers';

const env = { account: '123456789012', region: 'eu-west-1' };
const policies = { support: { allowedScopes: ['orders:read', 'status:read', 'tickets:write', 'kb:read'], deniedTools: [], allowWrite: true } };
const RESEARCH = join(__dirname, '..', '..', 'stacks', 'hybrid', 'research.agent.yaml');

describe('HybridStack', () => {
  it('keeps the short intake agent a function and runs the long research agent in a container, handing off over the bus', () => {
    const stack = new HybridStack(new App(), 'Stage3', { env, models: ROUTER, toolPolicies: policies });
    const [intake, research] = stack.agents;
    assert.ok(intake instanceof AgentFunction && research instanceof AgentContainer);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ECS::Service', 1);
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    // intake's hand-offs reach research's queue through a rule on the shared bus.
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as { Properties: { EventPattern?: { 'detail-type'?: string[] } } }[];
    assert.ok(rules.some((r) => r.Properties.EventPattern?.['detail-type']?.includes('handoff.to.research')));
  });

  it('moves the research agent between placements with one line of its YAML, both synthesizing from the same definition', () => {
    const yaml = readFileSync(RESEARCH, 'utf8');
    assert.match(yaml, /^placement: container$/m);
    const asFunction = yaml.replace(/^placement: container$/m, 'placement: function').replace(/^  timeoutSeconds: 3600$/m, '  timeoutSeconds: 900');
    // One field moves it; a function's run limit (900 s) is the only other thing its host asks for.
    assert.equal(yaml.split('\n').filter((line, i) => line !== asFunction.split('\n')[i]).length, 2);
    const parsed = (text: string) => defineAgent({ ...parse(text), instructions: { file: join(__dirname, '..', '..', 'stacks', 'hybrid', 'research.instructions.md') } });
    const [intake] = exampleHybrid();
    const moved = new HybridStack(new App(), 'Moved', { env, models: ROUTER, toolPolicies: policies, agents: [intake!, parsed(asFunction)] });
    assert.ok(moved.agents[1] instanceof AgentFunction);
    const template = Template.fromStack(moved);
    template.resourceCountIs('AWS::ECS::Service', 0);
    assert.equal(loadAgentFile(RESEARCH).placement, 'container');
  });

  it('passes the AwsSolutions and Serverless rule packs with every finding acknowledged for a reason', () => {
    const app = reportingApp();
    new HybridStack(app, 'Stage3', { env, models: ROUTER, toolPolicies: policies });
    const report = synthWithRulePacks(app);
    assert.deepEqual(report.open, []);
    for (const a of report.acknowledged) assert.ok(a.reason.length > 40, `${a.rule}: ${a.reason}`);
  });
});
