import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RemovalPolicy, Resource, Stack, type IResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import { readSkillsFolder, SKILL_FILE, SKILL_INDEX_KEY, type SkillIndex } from '../../contract/skills/catalog';
import { stageFiles } from '../bundle/staging';
import { privateBucket } from './defaults';
import { acknowledge, acknowledgeGrantedWildcards, acknowledgeWildcards } from './nag';

export interface SkillBucketProps {
  /** A local folder of skills in the Agent Skills format: one folder per skill, each with a SKILL.md. */
  readonly path: string;
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

/** A skill registry defined here or in another stack or app, as the agents that read it see it. */
export interface ISkillBucket extends IResource {
  readonly bucketName: string;
  readonly bucketArn: string;
  /** The skills in the bucket, as its index lists them; checked against each agent's skills at synth. */
  readonly index: SkillIndex;
  readonly skillNames: string[];
  has(skill: string): boolean;
  /**
   * Lets `grantee` read the index and the named skills' folders, and nothing else in the bucket.
   * Unknown skill names fail.
   */
  grantRead(grantee: iam.IGrantable, skills: readonly string[]): iam.Grant;
}

export interface SkillBucketAttributes {
  readonly bucketName: string;
  /**
   * The skills folder the bucket was published from, read here for its index. Give this or `index`.
   * @default none: `index` is required
   */
  readonly path?: string;
  /**
   * The bucket's index (its `index.json`). Give this or `path`.
   * @default read from `path`
   */
  readonly index?: SkillIndex;
}

/** What imported and owned skill buckets share: the index and the per-skill grant. */
abstract class SkillBucketBase extends Resource implements ISkillBucket {
  abstract readonly bucketName: string;
  abstract readonly bucketArn: string;
  abstract readonly index: SkillIndex;

  get skillNames(): string[] {
    return this.index.skills.map((s) => s.name);
  }

  has(skill: string): boolean {
    return this.index.skills.some((s) => s.name === skill);
  }

  grantRead(grantee: iam.IGrantable, skills: readonly string[]): iam.Grant {
    const unknown = skills.filter((s) => !this.has(s));
    if (unknown.length) throw new Error(`SkillBucket ${this.node.path} has no skill named ${unknown.map((s) => `"${s}"`).join(', ')} (it has: ${this.skillNames.join(', ')})`);
    const folders = skills.map((s) => `${this.bucketArn}/${s}/*`);
    acknowledgeGrantedWildcards(grantee.grantPrincipal, folders, 'Read is limited to the folders of the skills the agent lists, whose files are known only at deploy.');
    return iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [`${this.bucketArn}/${SKILL_INDEX_KEY}`, ...folders] });
  }
}

/**
 * An S3 registry of skills: a private, versioned, encrypted, TLS-only bucket holding a local skills
 * folder and an index of every skill's name and description, so an agent reads its whole catalog in
 * one request and each skill body only when it needs it. Skills are checked at synth: a broken
 * SKILL.md fails synth naming the file.
 */
export class SkillBucket extends SkillBucketBase {
  /** A skill bucket another app publishes, for agents here that read its skills. */
  static fromSkillBucketAttributes(scope: Construct, id: string, attrs: SkillBucketAttributes): ISkillBucket {
    if ((attrs.path === undefined) === (attrs.index === undefined)) throw new Error(`SkillBucket.fromSkillBucketAttributes ${id}: give the skills folder (path) or the bucket's index, one of them`);
    const index = attrs.index ?? readSkillsFolder(resolve(attrs.path!));
    class Imported extends SkillBucketBase {
      readonly bucketName = attrs.bucketName;
      readonly bucketArn = Stack.of(scope).formatArn({ service: 's3', region: '', account: '', resource: attrs.bucketName });
      readonly index = index;
    }
    return new Imported(scope, id);
  }

  readonly bucket: s3.Bucket;
  readonly bucketName: string;
  readonly bucketArn: string;
  /** The skills found in the folder, as published in the index. */
  readonly index: SkillIndex;
  readonly deployment: s3deploy.BucketDeployment;

  constructor(scope: Construct, id: string, props: SkillBucketProps) {
    super(scope, id);
    this.index = readSkillsFolder(resolve(props.path));
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.bucket = privateBucket(this, 'Bucket', { accessLogsBucket: props.accessLogsBucket, accessLogsPrefix: 'skills/', removalPolicy });
    this.bucketName = this.bucket.bucketName;
    this.bucketArn = this.bucket.bucketArn;

    this.deployment = new s3deploy.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [s3deploy.Source.asset(stageSkills(resolve(props.path), this.index))],
      prune: true,
      retainOnDelete: removalPolicy === RemovalPolicy.RETAIN,
    });
    this.acknowledgeDeploymentHandler();
  }

  /**
   * The skills are copied by the handler that aws-cdk-lib's BucketDeployment provides; its runtime,
   * role and policy are that library's, and it runs only while CloudFormation deploys.
   */
  private acknowledgeDeploymentHandler(): void {
    const policy = this.deployment.handlerRole.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
    if (policy) {
      acknowledgeWildcards(
        policy,
        policy.document,
        'BucketDeployment copies the skills asset (content-hashed keys in the CDK asset bucket) into the skill bucket and prunes deleted files, so it reads and writes whole prefixes.',
      );
    }
    const handlers = Stack.of(this).node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    for (const handler of handlers) {
      acknowledge(handler, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'The BucketDeployment handler only writes its own logs with this AWS-managed policy.');
      acknowledge(handler, 'AwsSolutions-L1', 'aws-cdk-lib pins the BucketDeployment handler runtime; it runs only during deployments.');
      acknowledge(handler, 'Serverless-LambdaLatestVersion', 'aws-cdk-lib pins the BucketDeployment handler runtime; it runs only during deployments.');
      acknowledge(handler, 'Serverless-LambdaDLQ', 'CloudFormation invokes the BucketDeployment handler and records its failures as a failed deployment.');
      acknowledge(handler, 'Serverless-LambdaTracing', 'The BucketDeployment handler runs only during deployments; CloudFormation events trace it.');
    }
  }
}

/** The skills with their index in one folder, so the whole registry is one asset. */
function stageSkills(folder: string, index: SkillIndex): string {
  const files = index.skills.flatMap((skill) =>
    [SKILL_FILE, ...skill.files].map((file) => ({ path: `${skill.name}/${file}`, content: readFileSync(join(folder, skill.name, file)) })),
  );
  return stageFiles('skills', [...files, { path: SKILL_INDEX_KEY, content: JSON.stringify(index) }]);
}
