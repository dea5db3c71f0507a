import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { privateBucket } from './defaults';
import { acknowledge } from './nag';

export interface AuditBucketProps {
  /**
   * How long audit records are kept.
   * @default Duration.days(400), a year and a quarter for year-over-year reviews
   */
  readonly retention?: Duration;
  /**
   * Where S3 writes the bucket's access logs.
   * @default a new bucket, encrypted, TLS-only, public access blocked
   */
  readonly accessLogsBucket?: s3.IBucket;
  /**
   * What happens to the bucket when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The key prefix of an agent's audit records: `agent=NAME/date=YYYY-MM-DD/RUN.jsonl`. */
export const auditPrefix = (agent: string) => `agent=${agent}/`;

/**
 * Where every run's audit record lands: JSON Lines partitioned by agent and date, in a private,
 * versioned, encrypted, TLS-only bucket. Each agent may write under its own partition only and
 * can read nothing back.
 */
export class AuditBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AuditBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = privateBucket(this, 'Bucket', {
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'audit/',
      removalPolicy,
      lifecycleRules: [{ expiration: props.retention ?? Duration.days(400), noncurrentVersionExpiration: Duration.days(30) }],
    });
  }

  get bucketName(): string {
    return this.bucket.bucketName;
  }

  /** Lets an agent write records under its own partition and nothing else. */
  grantWrite(grantee: iam.IGrantable, agent: string): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['s3:PutObject'], resourceArns: [this.bucket.arnForObjects(`${auditPrefix(agent)}*`)] });
    const policyScope = grantee.grantPrincipal instanceof iam.Role ? grantee.grantPrincipal : undefined;
    if (policyScope) {
      acknowledge(
        policyScope,
        `AwsSolutions-IAM5[Resource::<${policyScope.stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/${auditPrefix(agent)}*]`,
        `Writes are limited to agent "${agent}"'s own audit partition; run ids and dates are only known at run time.`,
      );
    }
    return grant;
  }
}
