import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SkillBucket } from '../../constructs/aws';
import { SKILLS, testStack } from '../helpers';

describe('SkillBucket', () => {
  it('is private, encrypted, versioned, TLS-only and access-logged', () => {
    const stack = testStack(new App());
    new SkillBucket(stack, 'Skills', { path: SKILLS });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('SkillsAccessLogs') }, LogFilePrefix: 'skills/' },
      },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('SkillsBucket') },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('Custom::CDKBucketDeployment', { Prune: true, DestinationBucketName: { Ref: Match.stringLikeRegexp('SkillsBucket') } });
  });

  it('deploys the skills with an index of every name and description', () => {
    const app = new App();
    const stack = testStack(app);
    const skills = new SkillBucket(stack, 'Skills', { path: SKILLS });
    const assembly = app.synth();
    const template = Template.fromStack(stack);
    const deployment = Object.values(template.findResources('Custom::CDKBucketDeployment'))[0] as { Properties: { SourceObjectKeys: string[] } };
    const hash = deployment.Properties.SourceObjectKeys[0]!.replace('.zip', '');
    const index = JSON.parse(readFileSync(join(assembly.directory, `asset.${hash}`, 'index.json'), 'utf8'));
    assert.deepEqual(index, skills.index);
    assert.deepEqual(index.skills.map((s: { name: string }) => s.name), ['refund-requests', 'ticket-triage', 'troubleshooting']);
    assert.ok(readFileSync(join(assembly.directory, `asset.${hash}`, 'ticket-triage', 'references', 'severity-matrix.md'), 'utf8').includes('sev1'));
  });

  it('grants read on the index and the named skills only', () => {
    const stack = testStack(new App());
    const skills = new SkillBucket(stack, 'Skills', { path: SKILLS });
    skills.grantRead(new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() }), ['refund-requests']);
    const bucket = stack.getLogicalId(skills.bucket.node.defaultChild as s3.CfnBucket);
    const arn = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, suffix]] });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Reader') }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: [arn('/index.json'), arn('/refund-requests/*')] }] },
    });
  });

  it('uses a given access-log bucket and removal policy', () => {
    const stack = testStack(new App());
    const logs = new s3.Bucket(stack, 'Logs', { enforceSSL: true });
    new SkillBucket(stack, 'Skills', { path: SKILLS, accessLogsBucket: logs, removalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.hasResource('AWS::S3::Bucket', { Properties: { LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^Logs') } } }, DeletionPolicy: 'Delete' });
  });

  it('refuses to grant a skill it does not hold', () => {
    const stack = testStack(new App());
    const skills = new SkillBucket(stack, 'Skills', { path: SKILLS });
    assert.throws(() => skills.grantRead(new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() }), ['nope']), /SkillBucket Test\/Skills has no skill named "nope"/);
  });
});
