import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AgentBus, AgentFunction, AgentStateTable, AgentTeam, ModelRouter } from '../../constructs/aws';
import { defineAgent, type AgentDefinitionInput } from '../../contract/definition';
import { teamDefinitions } from '../__fixtures__/team';
import { agentInput, ROUTER, testStack } from '../helpers';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

/** A team deployed the way a user would: one AgentFunction per member, in the order given. */
function synthTeam(agents: AgentDefinitionInput[] | ReturnType<typeof teamDefinitions>, options: { skip?: string; order?: string[] } = {}) {
  const app = new App();
  const stack = testStack(app);
  const bus = new AgentBus(stack, 'Bus');
  const state = new AgentStateTable(stack, 'State');
  const router = new ModelRouter(stack, 'Models', ROUTER);
  const definitions = agents.map((a) => defineAgent(a));
  const team = new AgentTeam(stack, 'Team', { agents: definitions, bus });
  const order = options.order ?? definitions.map((d) => d.name);
  for (const name of order) {
    if (name === options.skip) continue;
    const agent = definitions.find((d) => d.name === name)!;
    new AgentFunction(stack, `Agent-${name}`, { agent: { ...agent, triggers: [{ type: 'queue' }] }, team, state, router });
  }
  return { app, template: Template.fromStack(stack) };
}

const statementsOf = (template: Template, agent: string): Statement[] => {
  const role = Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) => id.startsWith(`Agent${agent}Role`))![1];
  return role.Properties.Policies[0].PolicyDocument.Statement;
};
const actions = (s: Statement) => [s.Action].flat();
const ref = (resource: unknown) => JSON.stringify(resource);

describe('AgentTeam', () => {
  it('lets the orchestrator invoke exactly its specialists and publish exactly its own hand-off events', () => {
    // Specialists first: members may join in any order.
    const { template } = synthTeam(teamDefinitions(), { order: ['technical', 'billing', 'triage'] });
    const triage = statementsOf(template, 'triage');
    const invoke = triage.filter((s) => actions(s).includes('lambda:InvokeFunction'));
    assert.equal(invoke.length, 1);
    assert.match(ref(invoke[0]!.Resource), /^\{"Fn::GetAtt":\["AgentbillingFunction[0-9A-F]+","Arn"\]\}$/, 'billing only, not technical, not itself');
    const publish = triage.find((s) => actions(s).includes('events:PutEvents'))!;
    assert.deepEqual(publish.Condition, { StringEquals: { 'events:source': 'serverless-agents', 'events:detail-type': ['run.completed', 'run.failed', 'handoff.refused', 'handoff.to.technical'] } });
    const inboxes = triage.filter((s) => actions(s).includes('dynamodb:PutItem') && actions(s).length === 1).map((s) => s.Condition!['ForAllValues:StringLike']!['dynamodb:LeadingKeys']);
    assert.deepEqual(inboxes, [['inbox#technical#*']]);
    assert.ok(!triage.some((s) => JSON.stringify(s.Condition ?? {}).includes('job#technical')), 'no job of technical: it only receives hand-offs');
  });

  it('gives a specialist no way back unless its definition says so', () => {
    const { template } = synthTeam(teamDefinitions());
    // Billing is called (triage holds its answer); technical takes hand-offs, whose ends it reports to triage, and nothing more.
    for (const [specialist, reports] of [['billing', []], ['technical', ['result.to.triage']]] as const) {
      const statements = statementsOf(template, specialist);
      assert.ok(!statements.some((s) => actions(s).includes('lambda:InvokeFunction')), `${specialist} invokes nothing`);
      const publish = statements.find((s) => actions(s).includes('events:PutEvents'))!;
      assert.deepEqual(publish.Condition!.StringEquals!['events:detail-type'], ['run.completed', 'run.failed', 'handoff.refused', ...reports]);
    }
    const back = synthTeam(teamDefinitions({ technical: { handoffs: ['triage'] } })).template;
    const publish = statementsOf(back, 'technical').find((s) => actions(s).includes('events:PutEvents'))!;
    assert.deepEqual(publish.Condition!.StringEquals!['events:detail-type'], ['run.completed', 'run.failed', 'handoff.refused', 'handoff.to.triage', 'result.to.triage']);
  });

  it('feeds each receiving agent its own hand-offs and jobs from the bus, with a dead-letter queue behind', () => {
    const { template } = synthTeam(teamDefinitions({ triage: { tools: [{ name: 'review', kind: 'agent', agent: 'billing', mode: 'job', description: 'Review.' }] } }));
    const rules = Object.entries(template.findResources('AWS::Events::Rule')).filter(([id]) => id.includes('Tasks'));
    const patterns = Object.fromEntries(rules.map(([id, r]) => [id.replace(/Tasks.*/, ''), r.Properties.EventPattern]));
    assert.deepEqual(patterns, {
      Agentbilling: { source: ['serverless-agents'], 'detail-type': ['delegation.to.billing'] },
      Agenttechnical: { source: ['serverless-agents'], 'detail-type': ['handoff.to.technical'] },
      // Triage takes jobs (its records list its children): the ends of what it sent come back to it.
      Agenttriage: { source: ['serverless-agents'], 'detail-type': ['result.to.triage'] },
    });
    for (const [, rule] of rules) {
      assert.match(ref(rule.Properties.Targets[0].Arn), /Agent(billing|technical|triage)Queue/);
      assert.ok(rule.Properties.Targets[0].DeadLetterConfig.Arn);
    }
    const triage = statementsOf(template, 'triage');
    assert.ok(triage.some((s) => actions(s).includes('dynamodb:GetItem') && JSON.stringify(s.Condition).includes('job#billing#*')), 'awaits the job it gave billing');
  });

  it('refuses a bad team at synth, naming the agent and the field', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['an unknown target', () => synthTeam(teamDefinitions({ triage: { handoffs: ['legal'] } })), /agent "triage": handoffs\[0\]: agent "legal" is not in the team \(its agents: billing, technical, triage\)/],
      ['a self-reference', () => defineAgent(agentInput({ name: 'loop', handoffs: ['loop'] })), /agent "loop": handoffs\[0\]: names the agent itself/],
      ['a tool calling itself', () => defineAgent(agentInput({ name: 'loop', tools: [{ name: 'me', kind: 'agent', agent: 'loop', description: 'd' }] })), /agent "loop": tools\[0\]\.agent: names the agent itself/],
      [
        'a cycle of synchronous calls',
        () => synthTeam(teamDefinitions({ billing: { tools: [{ name: 'back', kind: 'agent', agent: 'triage', description: 'Ask triage.' }] } })),
        /agent "triage": tools\[0\]\.agent: the synchronous calls triage → billing → triage form a cycle/,
      ],
      ['a member never deployed', () => synthTeam(teamDefinitions(), { skip: 'technical' }).app.synth(), /agent "technical" is in the team but no AgentFunction or AgentContainer deploys it/],
      ['an agent tool without a team', () => new AgentFunction(testStack(), 'Alone', { agent: teamDefinitions()[0]!, router: new ModelRouter(testStack(), 'M', ROUTER) }), /agent "triage": .*tools\[0\]: "ask_billing" calls agent "billing", which needs an AgentTeam/s],
      ['a hop limit of 0', () => defineAgent(agentInput({ limits: { maxHops: 0 } })), /agent "helper": limits\.maxHops: Too small/],
      ['a chain shorter than its first run', () => defineAgent(agentInput({ limits: { timeoutSeconds: 300, chainTimeoutSeconds: 60 } })), /agent "helper": limits\.chainTimeoutSeconds: must be at least timeoutSeconds/],
      ['an agent tool mode that does not exist', () => defineAgent(agentInput({ tools: [{ name: 'x', kind: 'agent', agent: 'other', mode: 'async' as 'job', description: 'd' }] })), /agent "helper": tools\[0\]\.mode:/],
      ['a handoff listed twice', () => defineAgent(agentInput({ handoffs: ['a', 'a'] })), /agent "helper": handoffs\[1\]: lists agent "a" twice/],
    ];
    for (const [what, run, message] of cases) assert.throws(run, message, what);
  });
});
