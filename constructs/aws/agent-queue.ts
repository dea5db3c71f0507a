import { Duration, Lazy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { DeadLetterQueue } from './dead-letter-queue';
import { queueTarget, secureQueue } from './defaults';

export interface AgentQueueProps {
  /**
   * Deliveries of a message before it moves to the dead-letter queue.
   * @default 3
   */
  readonly maxReceiveCount?: number;
  /**
   * How long a received message stays hidden from other consumers.
   * @default six times the timeout of the agent that consumes the queue, as Lambda advises
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How long an unprocessed message is kept.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;
  /**
   * Where messages go once they have failed `maxReceiveCount` times. Pass one `DeadLetterQueue`'s
   * queue to several AgentQueues to share it; its alarm then covers them all.
   * @default a new DeadLetterQueue for this queue alone
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * Messages handed to one invocation. Each message is a whole agent run bounded by the function
   * timeout, so larger batches need runs that finish well within it.
   * @default 1
   */
  readonly batchSize?: number;
  /**
   * Concurrent invocations the queue may drive, to protect model quotas and downstream tools.
   * @default no limit beyond the function's own
   */
  readonly maxConcurrency?: number;
  /**
   * Notified when the dead-letter queue holds a message.
   * @default no action: the alarm is visible in CloudWatch only
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

export interface ScheduleOptions {
  /** The prompt the scheduled run receives. */
  readonly input: string;
  /** `rate(...)` or `cron(...)`. */
  readonly expression: string;
}

/**
 * The asynchronous entry to one agent: an SQS queue with a dead-letter queue, consumed by the
 * agent's function with partial batch failures, and fed by EventBridge rules and schedules whose
 * undeliverable events land in the same dead-letter queue. Work is never dropped: it is either
 * done, waiting, or in the dead-letter queue with its metadata.
 */
export class AgentQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.IQueue;
  /** The alarm on the dead-letter queue's depth, when this construct owns that queue. */
  readonly deadLetterAlarm?: cloudwatch.Alarm;
  private readonly props: AgentQueueProps;
  private consumer?: { fn: lambda.IFunction; timeout: Duration };

  constructor(scope: Construct, id: string, props: AgentQueueProps = {}) {
    super(scope, id);
    this.props = props;
    const maxReceiveCount = props.maxReceiveCount ?? 3;
    if (maxReceiveCount < 1 || maxReceiveCount > 1000) throw new Error(`AgentQueue ${this.node.path}: maxReceiveCount must be 1-1000, got ${maxReceiveCount}`);
    const batchSize = props.batchSize ?? 1;
    if (batchSize < 1 || batchSize > 10) throw new Error(`AgentQueue ${this.node.path}: batchSize must be 1-10, got ${batchSize}`);

    if (props.deadLetterQueue) {
      this.deadLetterQueue = props.deadLetterQueue;
    } else {
      const dlq = new DeadLetterQueue(this, 'DeadLetter', {
        description: `Messages for ${this.node.path} that failed ${maxReceiveCount} deliveries`,
        ...(props.alarmAction && { alarmAction: props.alarmAction }),
      });
      this.deadLetterQueue = dlq.queue;
      this.deadLetterAlarm = dlq.alarm;
    }

    this.queue = secureQueue(this, 'Queue', {
      retentionPeriod: props.retentionPeriod ?? Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
    // Known only once the consuming agent attaches, so resolved at synth.
    (this.queue.node.defaultChild as sqs.CfnQueue).visibilityTimeout = Lazy.number({
      produce: () => (props.visibilityTimeout ?? (this.consumer && Duration.seconds(this.consumer.timeout.toSeconds() * 6)) ?? Duration.seconds(30)).toSeconds(),
    });

    this.node.addValidation({
      validate: () => {
        if (!this.consumer) return [`AgentQueue ${this.node.path} has no agent consuming it: pass it to an AgentFunction`];
        const needed = this.consumer.timeout.toSeconds() * 6;
        const set = props.visibilityTimeout?.toSeconds();
        return set !== undefined && set < needed
          ? [`AgentQueue ${this.node.path}: visibilityTimeout ${set}s is under six times the agent timeout (${needed}s); messages would be redelivered while still running`]
          : [];
      },
    });
  }

  /** The ARN of the queue. */
  get queueArn(): string {
    return this.queue.queueArn;
  }

  /** Makes `fn` the one consumer of this queue, reporting partial batch failures. */
  attachAgent(fn: lambda.IFunction, timeout: Duration): void {
    if (this.consumer) {
      throw new Error(`AgentQueue ${this.node.path} already feeds ${this.consumer.fn.node.path}; each agent needs its own queue`);
    }
    this.consumer = { fn, timeout };
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: this.props.batchSize ?? 1,
        reportBatchItemFailures: true,
        ...(this.props.maxConcurrency && { maxConcurrency: this.props.maxConcurrency }),
      }),
    );
    for (const mapping of fn.node.children.filter((c) => c.node.id.startsWith('SqsEventSource:'))) {
      acknowledge(
        mapping,
        'Serverless-LambdaEventSourceMappingDestination',
        'SQS event sources take no on-failure destination: a failed message returns to the queue, whose redrive policy moves it to the dead-letter queue.',
      );
    }
  }

  /** Starts a run on a schedule; a delivery that keeps failing ends in the dead-letter queue. */
  addSchedule(id: string, options: ScheduleOptions): events.Rule {
    return this.addRule(id, { schedule: events.Schedule.expression(options.expression) }, events.RuleTargetInput.fromObject({ source: 'schedule', input: options.input }));
  }

  /** Starts a run for every event matching `pattern` on `bus` (the account's default bus if omitted). */
  addEventRule(id: string, pattern: events.EventPattern, bus?: events.IEventBus): events.Rule {
    return this.addRule(id, { eventPattern: pattern, ...(bus && { eventBus: bus }) });
  }

  /** Lets `grantee` submit jobs to this queue. */
  grantSendJobs(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  /** Messages waiting to be processed. */
  metricBacklog(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible(props);
  }

  /** Messages in the dead-letter queue. */
  metricDeadLetters(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible(props);
  }

  /** Age of the oldest waiting message: how far behind the agent is. */
  metricOldestMessageAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage(props);
  }

  private addRule(id: string, ruleProps: events.RuleProps, message?: events.RuleTargetInput): events.Rule {
    const rule = new events.Rule(this, id, ruleProps);
    rule.addTarget(queueTarget(this.queue, this.deadLetterQueue, message));
    return rule;
  }
}

