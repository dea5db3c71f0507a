import { Duration, Resource, Stack, type IResource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { secureQueue } from './defaults';
import { acknowledge } from './nag';

export interface DeadLetterQueueProps {
  /**
   * Notified when the queue holds a message.
   * @default no action: the alarm is visible in CloudWatch only
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
  /**
   * What lands here, for the alarm's description.
   * @default 'Messages that failed every delivery'
   */
  readonly description?: string;
}

/** A dead-letter queue defined here or in another stack or app, as the queues that use it see it. */
export interface IDeadLetterQueue extends IResource {
  readonly queue: sqs.IQueue;
  readonly queueArn: string;
  readonly queueUrl: string;
  /** Lets `grantee` put a failed message here itself, with a report attached. */
  grantSendMessages(grantee: iam.IGrantable): iam.Grant;
  /** Messages waiting in the queue. */
  metricDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

export interface DeadLetterQueueAttributes {
  readonly queueArn: string;
}

/** What imported and owned dead-letter queues share. */
abstract class DeadLetterQueueBase extends Resource implements IDeadLetterQueue {
  abstract readonly queue: sqs.IQueue;

  get queueArn(): string {
    return this.queue.queueArn;
  }

  get queueUrl(): string {
    return this.queue.queueUrl;
  }

  grantSendMessages(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  metricDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible(props);
  }
}

/**
 * Where failed work waits for a person: an encrypted, TLS-only queue kept for the longest time SQS
 * allows, with an alarm on its first message. One can serve many AgentQueues (messages keep their
 * attributes, and SQS redrives each back to its own source queue), which keeps a large fleet within
 * a stack's resource limit.
 */
export class DeadLetterQueue extends DeadLetterQueueBase {
  /** A dead-letter queue another stack or app owns (and alarms on), for queues here to use. */
  static fromDeadLetterQueueAttributes(scope: Construct, id: string, attrs: DeadLetterQueueAttributes): IDeadLetterQueue {
    class Imported extends DeadLetterQueueBase {
      readonly queue = sqs.Queue.fromQueueArn(this, 'Queue', attrs.queueArn);
    }
    return new Imported(scope, id);
  }

  readonly queue: sqs.Queue;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps = {}) {
    super(scope, id);
    this.queue = secureQueue(this, 'Queue', { retentionPeriod: Duration.days(14) });
    // Rules in other stacks dead-letter here too, and can't add their own statement to this
    // policy without making this stack depend on theirs: any rule of this account and region may.
    const stack = Stack.of(this);
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AgentRulesDeadLetter',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'events', resource: 'rule', resourceName: '*' }) } },
      }),
    );
    const reason = 'This is a dead-letter queue: the end of the line for failed messages, kept 14 days and alarmed on.';
    acknowledge(this.queue, 'AwsSolutions-SQS3', reason);
    acknowledge(this.queue, 'Serverless-SQSRedrivePolicy', reason);
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription: `${props.description ?? 'Messages that failed every delivery'} wait in ${this.node.path}`,
      metric: this.metricDepth({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmAction) this.alarm.addAlarmAction(props.alarmAction);
  }
}
