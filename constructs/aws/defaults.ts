import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** The secure defaults every construct here shares, in one place so they can't drift apart. */

/** A queue encrypted at rest that refuses requests without TLS. */
export function secureQueue(scope: Construct, id: string, props: sqs.QueueProps = {}): sqs.Queue {
  return new sqs.Queue(scope, id, { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, ...props });
}

/** How many times EventBridge retries delivery before the event goes to the dead-letter queue. */
export const RULE_RETRY_ATTEMPTS = 8;

/** An EventBridge target that delivers to `queue`, retrying, then keeping the event in `deadLetterQueue`. */
export function queueTarget(queue: sqs.IQueue, deadLetterQueue: sqs.IQueue, message?: events.RuleTargetInput): targets.SqsQueue {
  return new targets.SqsQueue(queue, { deadLetterQueue, retryAttempts: RULE_RETRY_ATTEMPTS, maxEventAge: Duration.hours(24), ...(message && { message }) });
}

/** A log group with a retention, kept when its stack goes so an investigation can still read it. */
export function retainedLogGroup(scope: Construct, id: string, retention: logs.RetentionDays): logs.LogGroup {
  return new logs.LogGroup(scope, id, { retention, removalPolicy: RemovalPolicy.RETAIN });
}
