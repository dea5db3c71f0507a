import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
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

/**
 * Where failed work waits for a person: an encrypted, TLS-only queue kept for the longest time SQS
 * allows, with an alarm on its first message. One can serve many AgentQueues (messages keep their
 * attributes, and SQS redrives each back to its own source queue), which keeps a large fleet within
 * a stack's resource limit.
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps = {}) {
    super(scope, id);
    this.queue = secureQueue(this, 'Queue', { retentionPeriod: Duration.days(14) });
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

  /** Messages waiting in the queue. */
  metricDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible(props);
  }
}
