import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** The secure defaults every construct here shares, in one place so they can't drift apart. */

/** A queue encrypted at rest that refuses requests without TLS. */
export function secureQueue(scope: Construct, id: string, props: sqs.QueueProps = {}): sqs.Queue {
  return new sqs.Queue(scope, id, { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, ...props });
}

/** How many times EventBridge retries delivery before the event goes to the dead-letter queue. */
export const RULE_RETRY_ATTEMPTS = 8;

/**
 * Delivers `rule`'s events to `queue`, retrying, then keeping an undeliverable event in
 * `deadLetterQueue`. A dead-letter queue in another stack is referenced by ARN only: it must
 * already let the account's rules send to it (a DeadLetterQueue does), since changing its policy
 * from here would make its stack depend on this one.
 */
export function addQueueTarget(rule: events.Rule, queue: sqs.IQueue, deadLetterQueue: sqs.IQueue, message?: events.RuleTargetInput): void {
  const local = Stack.of(deadLetterQueue) === Stack.of(rule) ? deadLetterQueue : sqs.Queue.fromQueueArn(rule, 'DeadLetterQueue', deadLetterQueue.queueArn);
  rule.addTarget(new targets.SqsQueue(queue, { deadLetterQueue: local, retryAttempts: RULE_RETRY_ATTEMPTS, maxEventAge: Duration.hours(24), ...(message && { message }) }));
}

/**
 * A log group with a retention, kept when its stack goes so an investigation can still read it;
 * encrypted with `key` when one is given, whose policy then lets CloudWatch Logs use it for this
 * account's log groups (a key imported from elsewhere must allow that already).
 */
export function retainedLogGroup(scope: Construct, id: string, retention: logs.RetentionDays, key?: kms.IKey): logs.LogGroup {
  if (key) {
    const stack = Stack.of(scope);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
      }),
    );
  }
  return new logs.LogGroup(scope, id, { retention, removalPolicy: RemovalPolicy.RETAIN, ...(key && { encryptionKey: key }) });
}

export interface PrivateBucketOptions {
  /** Where server access logs go; a new private bucket when omitted. */
  readonly accessLogsBucket?: s3.IBucket | undefined;
  readonly accessLogsPrefix: string;
  readonly removalPolicy: RemovalPolicy;
  readonly lifecycleRules?: s3.LifecycleRule[];
}

/**
 * A private bucket: encrypted, versioned, TLS-only, public access blocked, and access-logged to a
 * bucket with the same protections (created beside it, as `AccessLogs`, unless one is given).
 * S3 delivers the logs under a bucket policy written here, never a bucket ACL, whatever the app's
 * feature flags say (aws-cdk-lib picks an ACL unless `serverAccessLogsUseBucketPolicy` is on).
 */
export function privateBucket(scope: Construct, id: string, options: PrivateBucketOptions): s3.Bucket {
  const protections = { encryption: s3.BucketEncryption.S3_MANAGED, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, enforceSSL: true, removalPolicy: options.removalPolicy };
  const accessLogs = options.accessLogsBucket ?? new s3.Bucket(scope, 'AccessLogs', { ...protections, objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED });
  const bucket = new s3.Bucket(scope, id, {
    ...protections,
    versioned: true,
    ...(options.lifecycleRules && { lifecycleRules: options.lifecycleRules }),
  });
  (bucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = { destinationBucketName: accessLogs.bucketName, logFilePrefix: options.accessLogsPrefix };
  // A log bucket given from elsewhere keeps its own policy, which must let S3 log delivery write.
  accessLogs.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
      actions: ['s3:PutObject'],
      resources: [accessLogs.arnForObjects(`${options.accessLogsPrefix}*`)],
      conditions: { ArnLike: { 'aws:SourceArn': bucket.bucketArn }, StringEquals: { 'aws:SourceAccount': Stack.of(bucket).account } },
    }),
  );
  return bucket;
}
