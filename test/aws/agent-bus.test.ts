import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AgentBus } from '../../constructs/aws';
import { testStack } from '../helpers';

describe('AgentBus', () => {
  it('has a dead-letter queue and archives every event for 30 days', () => {
    const stack = testStack(new App());
    new AgentBus(stack, 'Bus');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::EventBus', { DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('BusDeadLetterQueue'), 'Arn'] } } });
    template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 30, EventPattern: { account: ['123456789012'] } });
  });

  it('lets the bus itself and the rules of its account write to that dead-letter queue, nothing else', () => {
    const stack = testStack(new App());
    new AgentBus(stack, 'Bus');
    const template = Template.fromStack(stack);
    const [busId] = Object.keys(template.findResources('AWS::Events::EventBus'));
    const [policy] = Object.values(template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: Match.stringLikeRegexp('BusDeadLetterQueue') }] } })) as { Properties: { PolicyDocument: { Statement: Record<string, any>[] } } }[];
    const senders = policy!.Properties.PolicyDocument.Statement.filter((s) => s.Effect === 'Allow');
    assert.deepEqual(
      senders.map((s) => [s.Sid, s.Principal, s.Action, Object.keys(s.Condition).sort()]),
      [
        ['AgentRulesDeadLetter', { Service: 'events.amazonaws.com' }, 'sqs:SendMessage', ['ArnLike', 'StringEquals']],
        ['BusDeadLetters', { Service: 'events.amazonaws.com' }, 'sqs:SendMessage', ['ArnEquals']],
      ],
    );
    assert.deepEqual(senders[1]!.Condition.ArnEquals['aws:SourceArn'], { 'Fn::GetAtt': [busId, 'Arn'] });
    assert.deepEqual(senders[0]!.Condition.ArnLike['aws:SourceArn'], { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:123456789012:rule/*']] });
    assert.deepEqual(senders[0]!.Condition.StringEquals, { 'aws:SourceAccount': '123456789012' });
  });

  it('grants publishing on this bus only', () => {
    const stack = testStack(new App());
    const bus = new AgentBus(stack, 'Bus', { eventBusName: 'agents', archiveRetention: Duration.days(7) });
    bus.grantPutEvents(new iam.Role(stack, 'Publisher', { assumedBy: new iam.AccountRootPrincipal() }));
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Bus'), 'Arn'] } }] } });
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'agents' });
    template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 7 });
  });

  it('delivers to a queue target with retries and its dead-letter queue', () => {
    const stack = testStack(new App());
    const bus = new AgentBus(stack, 'Bus');
    bus.addQueueTarget('Handoffs', { detailType: ['handoff'] }, new sqs.Queue(stack, 'Inbox'));
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('BusDeadLetterQueue'), 'Arn'] } } })],
    });
  });
});
