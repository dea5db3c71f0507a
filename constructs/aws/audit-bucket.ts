import { Duration, RemovalPolicy, Resource, Stack, type IResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { auditPrefix } from '../../contract/audit/layout';
import { AgentNames } from './agent-names';
import { privateBucket } from './defaults';
import { acknowledgeGrantedWildcards } from './nag';

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

/** Where runs' audit records land, defined here or in another stack or app. */
export interface IAuditBucket extends IResource {
  readonly bucketName: string;
  readonly bucketArn: string;
  /** Lets an agent write records under its own partition and nothing else. */
  grantWrite(grantee: iam.IGrantable, agent: string): iam.Grant;
}

export interface AuditBucketAttributes {
  readonly bucketName: string;
}

/** What imported and owned audit buckets share: the per-agent write grant. */
abstract class AuditBucketBase extends Resource implements IAuditBucket {
  abstract readonly bucketName: string;
  abstract readonly bucketArn: string;
  private readonly agents = new AgentNames(this);

  grantWrite(grantee: iam.IGrantable, agent: string): iam.Grant {
    this.agents.claim(agent, grantee);
    const partition = `${this.bucketArn}/${auditPrefix(agent)}*`;
    acknowledgeGrantedWildcards(grantee.grantPrincipal, [partition], `Writes are limited to agent "${agent}"'s own audit partition; run ids and dates are only known at run time.`);
    return iam.Grant.addToPrincipal({ grantee, actions: ['s3:PutObject'], resourceArns: [partition] });
  }
}

/**
 * Where every run's audit record lands: JSON Lines partitioned by agent and date, in a private,
 * versioned, encrypted, TLS-only bucket. Each agent may write under its own partition only and
 * can read nothing back.
 */
export class AuditBucket extends AuditBucketBase {
  /** An audit bucket another app owns, for agents here that write to it. */
  static fromAuditBucketAttributes(scope: Construct, id: string, attrs: AuditBucketAttributes): IAuditBucket {
    class Imported extends AuditBucketBase {
      readonly bucketName = attrs.bucketName;
      readonly bucketArn = Stack.of(scope).formatArn({ service: 's3', region: '', account: '', resource: attrs.bucketName });
    }
    return new Imported(scope, id);
  }

  readonly bucket: s3.Bucket;
  readonly bucketName: string;
  readonly bucketArn: string;

  constructor(scope: Construct, id: string, props: AuditBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = privateBucket(this, 'Bucket', {
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'audit/',
      removalPolicy,
      lifecycleRules: [{ expiration: props.retention ?? Duration.days(400), noncurrentVersionExpiration: Duration.days(30) }],
    });
    this.bucketName = this.bucket.bucketName;
    this.bucketArn = this.bucket.bucketArn;
  }
}
