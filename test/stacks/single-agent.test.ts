import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { defineAgent } from '../../contract/definition';
import { exampleAgent, SingleAgentStack } from '../../stacks/single-agent/single-agent-stack';
import { agentInput, ROUTER } from '../helpers';

const env = { account: '123456789012', region: 'eu-west-1' };
const countResources = (stack: SingleAgentStack) => Object.keys(Template.fromStack(stack).toJSON().Resources).length;

describe('SingleAgentStack', () => {
  it('deploys the example support agent with its API, queue, schedule, skills and bus', () => {
    const stack = new SingleAgentStack(new App(), 'Stage1', { env, models: ROUTER });
    const template = Template.fromStack(stack);
    assert.deepEqual(stack.agents.map((a) => a.agentName), ['support']);
    template.resourceCountIs('AWS::Lambda::Function', 2); // the agent and the skill deployment handler
    template.resourceCountIs('AWS::ApiGateway::Method', 3); // invoke, submit a job, read a job
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: exampleAgent().triggers.find((t) => t.type === 'schedule')!.expression });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RunFailures', AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }] });
    // Agent dead letters, bus dead letters, the agent's failed runs, and the cohort's two rates and
    // spend outside the bill under its composite alarm.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }] });
    template.resourceCountIs('AWS::Athena::NamedQuery', 8);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('gives every agent queue one shared, alarmed dead-letter queue', () => {
    const agents = ['a', 'b', 'c'].map((name) => defineAgent(agentInput({ name, triggers: [{ type: 'api' }, { type: 'job' }] })));
    const template = Template.fromStack(new SingleAgentStack(new App(), 'Fleet', { env, models: ROUTER, agents }));
    const dlq = Object.keys(template.findResources('AWS::SQS::Queue', { Properties: { MessageRetentionPeriod: 1209600, RedrivePolicy: Match.absent() } }));
    assert.equal(dlq.length, 2, 'the agents share one dead-letter queue; the bus has its own');
    const agentDlq = dlq.find((id) => id.startsWith('DeadLetters'))!;
    const redriven = template.findResources('AWS::SQS::Queue', { Properties: { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [agentDlq, 'Arn'] } } } });
    assert.equal(Object.keys(redriven).length, 3);
  });

  it('costs seven CloudFormation resources per extra queued agent', () => {
    const fleet = (n: number) =>
      countResources(
        new SingleAgentStack(new App(), 'Fleet', {
          env,
          models: ROUTER,
          agents: Array.from({ length: n }, (_, i) => defineAgent(agentInput({ name: `agent-${i}`, triggers: [{ type: 'api' }, { type: 'job' }] }))),
        }),
      );
    assert.equal(fleet(11) - fleet(1), 70);
  });
});
