import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AgentFleet, type AgentFleetProps } from '../../constructs/aws';
import { FLEET_LOCK_CONTEXT, fleetPlacement, placeFleet } from '../../contract/fleet/lock';
import { fleetAgents } from '../../stacks/fleet/fleet-agents';
import { agentInput, reportingApp, ROUTER, SKILLS, synthWithRulePacks } from '../helpers';

const env = { account: '123456789012', region: 'eu-west-1' };
const lockIn = () => join(mkdtempSync(join(tmpdir(), 'fleet-lock-')), 'fleet.lock.json');
const names = (n: number) => Array.from({ length: n }, (_, i) => `agent-${i + 1}`);

function fleet(app: App, props: Partial<AgentFleetProps> & Pick<AgentFleetProps, 'lockFile'>): AgentFleet {
  return new AgentFleet(app, 'Fleet', { agents: fleetAgents(7), models: ROUTER, skillsPath: SKILLS, agentsPerShard: 3, env, agentNamePrefix: 'fleet-', ...props });
}
const updating = () => new App({ context: { [FLEET_LOCK_CONTEXT]: 'update' } });

describe('fleet placement', () => {
  it('keeps every placed agent in its shard when agents are added or removed', () => {
    const first = placeFleet(names(5), undefined, 2);
    assert.deepEqual(first.shards, [['agent-1', 'agent-2'], ['agent-3', 'agent-4'], ['agent-5']]);
    // agent-2 leaves, agent-6 to agent-8 arrive: the others stay; the newcomers fill the room first.
    const second = placeFleet([...names(8)].filter((n) => n !== 'agent-2'), { version: 1, shards: first.shards.map((s) => [...s]) }, 2);
    assert.deepEqual(second.shards, [['agent-1', 'agent-6'], ['agent-3', 'agent-4'], ['agent-5', 'agent-7'], ['agent-8']]);
    assert.deepEqual(second.removed, ['agent-2']);
    assert.deepEqual(second.added, ['agent-6', 'agent-7', 'agent-8']);
    for (const [i, shard] of first.shards.entries()) for (const name of shard) if (name !== 'agent-2') assert.ok(second.shards[i]!.includes(name), name);
  });

  it('fails on an out-of-date lock, naming the agents and how to update it, and writes it only when told', () => {
    const path = lockIn();
    assert.throws(() => fleetPlacement(path, names(3), 2, false), /the fleet lock is out of date: .*fleet\.lock\.json does not exist yet; 3 agent\(s\) not placed yet \(agent-1, agent-2, agent-3\)\. Run synth once with -c serverless-agents:fleet-lock=update/);
    assert.equal(existsSync(path), false);
    fleetPlacement(path, names(3), 2, true);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, shards: [['agent-1', 'agent-2'], ['agent-3']] });
    assert.deepEqual(fleetPlacement(path, names(3), 2, false).shards, [['agent-1', 'agent-2'], ['agent-3']]);
    assert.throws(() => fleetPlacement(path, ['agent-1', 'agent-3', 'agent-4'], 2, false), /1 agent\(s\) not placed yet \(agent-4\); 1 placed agent\(s\) no longer in the fleet \(agent-2\)/);
  });

  it('refuses a malformed lock, an agent placed twice, and a duplicate name', () => {
    const path = lockIn();
    writeFileSync(path, JSON.stringify({ version: 2, shards: [] }));
    assert.throws(() => fleetPlacement(path, names(1), 2, false), /fleet\.lock\.json: version: /);
    assert.throws(() => placeFleet(names(2), { version: 1, shards: [['agent-1'], ['agent-1']] }, 2), /agent "agent-1" is placed in two shards of the lock/);
    assert.throws(() => placeFleet(['a', 'a'], undefined, 2), /agent "a" is in the fleet twice/);
  });
});

describe('AgentFleet', () => {
  const path = lockIn();
  const app = updating();
  const built = fleet(app, { lockFile: path });
  const assembly = app.synth();

  it('lays the agents out in shards of the lock, with the platform and the API in stacks of their own and no cycle', () => {
    assert.deepEqual(
      built.shards.map((s) => s.stackName),
      ['Fleet-Agents-01', 'Fleet-Agents-02', 'Fleet-Agents-03'],
    );
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')).shards, [['api-0001', 'support-0002', 'worker-0003'], ['api-0004', 'support-0005', 'worker-0006'], ['api-0007']]);
    const depends = Object.fromEntries(assembly.stacks.map((s) => [s.stackName, s.dependencies.map((d) => d.id).filter((d) => !d.endsWith('.assets'))]));
    const platform = built.platform.artifactId;
    assert.deepEqual(depends['Fleet-Platform'], []);
    // One way only: every other stack depends on the platform and nothing depends on a shard.
    for (const stack of ['Fleet-Edge', 'Fleet-Agents-01', 'Fleet-Agents-02', 'Fleet-Agents-03']) assert.deepEqual(depends[stack], [platform], stack);
    Template.fromStack(built.edge).resourceCountIs('AWS::ApiGateway::Account', 1);
    for (const stack of [built.platform, ...built.shards]) Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('reaches an agent in any shard from the API by its name', () => {
    const methods = Object.values(Template.fromStack(built.edge).findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } })) as any[];
    const invocations = methods.map((m) => String(m.Properties.Integration.RequestTemplates['application/json'])).find((t) => t.includes('"route":"invocations"'))!;
    for (const name of ['api-0001', 'support-0005', 'api-0007']) assert.match(invocations, new RegExp(`"${name}":"fleet-${name}"`));
    for (const [i, shard] of built.shards.entries()) {
      for (const name of built.placement[i]!) Template.fromStack(shard).hasResourceProperties('AWS::Lambda::Function', { FunctionName: `fleet-${name}` });
    }
  });

  it('gives the API\'s integration role one statement for every agent, however many there are', () => {
    const statements = (fleetOf: AgentFleet) => {
      const roles = Template.fromStack(fleetOf.edge).findResources('AWS::IAM::Policy');
      return JSON.stringify(Object.values(roles).map((r: any) => r.Properties.PolicyDocument));
    };
    const small = updating();
    const three = new AgentFleet(small, 'Fleet', { agents: fleetAgents(3), models: ROUTER, skillsPath: SKILLS, agentsPerShard: 3, env, agentNamePrefix: 'fleet-', lockFile: lockIn() });
    assert.equal(statements(three), statements(built));
    assert.match(statements(built), /function:fleet-\*/);
  });

  it('operates every agent from its edge stack: one audit table, dashboard and composite alarm per cohort, whatever the fleet\'s size', () => {
    const operations = (fleetOf: AgentFleet) => {
      const resources = Object.values(Template.fromStack(fleetOf.edge).toJSON().Resources as Record<string, { Type: string }>);
      return resources.filter((r) => /^AWS::(Athena|Glue|CloudWatch|Budgets)::/.test(r.Type)).map((r) => r.Type).sort();
    };
    const three = new AgentFleet(updating(), 'Fleet', { agents: fleetAgents(3), models: ROUTER, skillsPath: SKILLS, agentsPerShard: 3, env, agentNamePrefix: 'fleet-', lockFile: lockIn() });
    assert.deepEqual(operations(three), operations(built));
    const [table] = Object.values(Template.fromStack(built.edge).findResources('AWS::Glue::Table')) as { Properties: { TableInput: { Parameters: Record<string, string> } } }[];
    assert.equal(table!.Properties.TableInput.Parameters['projection.agent.values'], built.placement.flat().sort().join(','));
    const none = new AgentFleet(updating(), 'Fleet', { agents: fleetAgents(3), models: ROUTER, skillsPath: SKILLS, agentsPerShard: 3, env, agentNamePrefix: 'fleet-', lockFile: lockIn(), operations: false });
    assert.deepEqual(operations(none), []);
  });

  it('keeps a grant its agents share once per shard, each role holding exactly the statements it had', () => {
    const template = Template.fromStack(built.shards[0]!).toJSON() as { Resources: Record<string, any> };
    const resources = Object.entries(template.Resources);
    const shared = Object.fromEntries(resources.filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy').map(([id, r]) => [id, r.Properties.PolicyDocument.Statement as unknown[]]));
    // The model, its key, the events every agent publishes: nothing of one agent's own, no wildcard.
    assert.deepEqual(Object.values(shared).map((s) => (s[0] as { Action: string | string[] }).Action).map((a) => [a].flat()[0]).sort(), ['bedrock:InvokeModel', 'events:PutEvents', 'secretsmanager:GetSecretValue']);
    for (const statements of Object.values(shared)) assert.ok(!JSON.stringify(statements).includes('*') && !/api-0001|support-0002|worker-0003/.test(JSON.stringify(statements)));
    const roles = resources.filter(([id, r]) => r.Type === 'AWS::IAM::Role' && /Agent.*Role/.test(id));
    assert.equal(roles.length, 3);
    for (const [id, role] of roles) {
      const attached = (role.Properties.ManagedPolicyArns as { Ref: string }[]).map((a) => a.Ref);
      const all = [...role.Properties.Policies[0].PolicyDocument.Statement, ...attached.flatMap((p) => shared[p]!)].map((s) => JSON.stringify(s));
      // What an agent of its template gets alone in a stack: its own logs, queue, records, audit, skills, and the shared three.
      assert.equal(attached.length, 3, id);
      assert.equal(new Set(all).size, all.length, `${id}: no statement twice`);
      assert.ok(all.some((s) => s.includes('logs:PutLogEvents')) && all.some((s) => s.includes('dynamodb:GetItem')) && all.some((s) => s.includes('s3:PutObject')), id);
    }
  });

  it('fails synth naming a shard over its budget and what to do', () => {
    const over = updating();
    fleet(over, { lockFile: lockIn(), budget: { resources: 15 } });
    assert.throws(() => over.synth(), /stack Fleet-Agents-01 \(Fleet\/Agents-01\) holds \d+ resources, over its budget of 15 \(CloudFormation refuses more than 500\): give the fleet a smaller agentsPerShard for new shards, or move some of this shard's agents to a new shard in .*fleet\.lock\.json .*\(agentsPerShard is 3\)/);
  });

  it('refuses agents that call or hand off to others, which a team deploys', () => {
    assert.throws(
      () => fleet(updating(), { lockFile: lockIn(), agents: [agentInput({ name: 'triage', handoffs: [{ agent: 'billing', description: 'Billing questions.' }] })] }),
      /agent "triage": handoffs\[0\]: a hand-off to "billing" needs an AgentTeam; an AgentFleet deploys agents that work alone/,
    );
  });

  it('paces a change every agent takes under a gradual rollout: the first shard alone, then the others two at a time', () => {
    const paced = updating();
    const built = fleet(paced, { lockFile: lockIn(), agentsPerShard: 1, rollout: { strategy: 'canary', minutes: 5 }, shardsAtOnce: 2 });
    const depends = Object.fromEntries(paced.synth().stacks.map((s) => [s.stackName, s.dependencies.map((d) => d.id).filter((d) => !d.endsWith('.assets') && d.includes('Agents')).sort()]));
    const id = (n: number) => built.shards[n - 1]!.artifactId;
    assert.equal(built.shards.length, 7);
    assert.deepEqual(depends['Fleet-Agents-01'], []);
    assert.deepEqual(depends['Fleet-Agents-02'], [id(1)]);
    assert.deepEqual(depends['Fleet-Agents-03'], [id(1)]);
    assert.deepEqual(depends['Fleet-Agents-04'], [id(1), id(2)].sort());
    assert.deepEqual(depends['Fleet-Agents-05'], [id(1), id(3)].sort());
    assert.deepEqual(depends['Fleet-Agents-07'], [id(1), id(5)].sort());
    // Every agent shifts by the fleet's canary.
    for (const shard of built.shards) Template.fromStack(shard).resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 1);
    // Six more resources an agent: 30 a shard unless told.
    const roomy = fleet(updating(), { lockFile: lockIn(), agents: fleetAgents(31), agentsPerShard: undefined, rollout: { strategy: 'linear', minutes: 1 } });
    assert.deepEqual(roomy.placement.map((s) => s.length), [30, 1]);
    // Without a gradual rollout the shards stay independent.
    const plain = updating();
    fleet(plain, { lockFile: lockIn(), agentsPerShard: 1, rollout: { strategy: 'all-at-once' } });
    for (const s of plain.synth().stacks) assert.deepEqual(s.dependencies.map((d) => d.id).filter((d) => d.includes('Agents') && !d.endsWith('.assets')), [], s.stackName);
  });

  it('passes the AwsSolutions and Serverless rule packs in every stack', () => {
    const checked = reportingApp();
    checked.node.setContext(FLEET_LOCK_CONTEXT, 'update');
    fleet(checked, { lockFile: lockIn() });
    const report = synthWithRulePacks(checked);
    assert.deepEqual(report.open, []);
    for (const a of report.acknowledged) assert.ok(a.reason.length > 40, `${a.rule}: ${a.reason}`);
  });
});
