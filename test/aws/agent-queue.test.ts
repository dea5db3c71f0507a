import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AgentBus, AgentFunction, AgentQueue, AgentStateTable, DeadLetterQueue, type AgentQueueProps } from '../../constructs/aws';
import { agentInput, testStack } from '../helpers';

function build(props: AgentQueueProps = {}, timeoutSeconds = 120) {
  const stack = testStack(new App());
  const queue = new AgentQueue(stack, 'Queue', props);
  new AgentFunction(stack, 'Agent', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }], limits: { timeoutSeconds } }), queue, state: new AgentStateTable(stack, 'State') });
  return { stack, queue, template: Template.fromStack(stack) };
}

describe('AgentQueue', () => {
  it('has an encrypted, TLS-only queue whose redrive policy ends in a dead-letter queue', () => {
    const { template, stack, queue } = build();
    const dlq = stack.getLogicalId(queue.deadLetterQueue.queue.node.defaultChild as sqs.CfnQueue);
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 345600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 3 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600, RedrivePolicy: Match.absent() });
    for (const id of [dlq, stack.getLogicalId(queue.queue.node.defaultChild as sqs.CfnQueue)]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('hides a received message for six times the agent timeout', () => {
    build({}, 90).template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 540 });
  });

  it('feeds its agent one message at a time and reports partial batch failures', () => {
    build().template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });

  it('alarms on the first message in the dead-letter queue', () => {
    build().template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('takes overrides: receive count, retention, batch size, concurrency, visibility and alarm action', () => {
    const stack = testStack(new App());
    const topic = new sns.Topic(stack, 'Topic');
    const queue = new AgentQueue(stack, 'Queue', {
      maxReceiveCount: 5,
      retentionPeriod: Duration.days(1),
      batchSize: 5,
      maxConcurrency: 4,
      visibilityTimeout: Duration.minutes(30),
      alarmAction: new cloudwatchActions.SnsAction(topic),
    });
    new AgentFunction(stack, 'Agent', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }), queue, state: new AgentStateTable(stack, 'State') });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 1800, MessageRetentionPeriod: 86400, RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 5, ScalingConfig: { MaximumConcurrency: 4 } });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: Match.stringLikeRegexp('Topic') }] });
  });

  it('can share one dead-letter queue between agents, whose owner keeps the alarm', () => {
    const stack = testStack(new App());
    const shared = new sqs.Queue(stack, 'Shared');
    const a = new AgentQueue(stack, 'A', { deadLetterQueue: DeadLetterQueue.fromDeadLetterQueueAttributes(stack, 'SharedDlq', { queueArn: shared.queueArn }) });
    assert.equal(a.deadLetterAlarm, undefined);
    new AgentFunction(stack, 'Agent', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }), queue: a, state: new AgentStateTable(stack, 'State') });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS' }, 0);
  });

  it('turns matching events on an agent bus into runs, undeliverable ones into dead letters', () => {
    const stack = testStack(new App());
    const bus = new AgentBus(stack, 'Bus');
    const queue = new AgentQueue(stack, 'Queue');
    new AgentFunction(stack, 'Agent', {
      agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'event', pattern: { source: ['agents'], detailType: ['handoff'] } }] }),
      queue,
      bus,
      state: new AgentStateTable(stack, 'State'),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^Bus') },
      EventPattern: { source: ['agents'], 'detail-type': ['handoff'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [stack.getLogicalId(queue.queue.node.defaultChild as sqs.CfnQueue), 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [stack.getLogicalId(queue.deadLetterQueue.queue.node.defaultChild as sqs.CfnQueue), 'Arn'] } } })],
    });
  });

  it('exposes backlog, age and dead-letter metrics', () => {
    const { queue } = build();
    assert.equal(queue.metricBacklog().metricName, 'ApproximateNumberOfMessagesVisible');
    assert.equal(queue.metricOldestMessageAge().metricName, 'ApproximateAgeOfOldestMessage');
    assert.equal(queue.metricDeadLetters().metricName, 'ApproximateNumberOfMessagesVisible');
  });
});
