#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CodePipelineSource } from 'aws-cdk-lib/pipelines';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { z } from 'zod';
import { AgentPipeline } from '../constructs/aws/agent-pipeline';
import { formatIssues } from '../contract/definition';
import { exampleStacks } from './app';
import { AppConfigError, readAppConfig } from './config';

/**
 * The example app's delivery pipeline (`npm run synth:pipeline`, `npx cdk deploy -a "npx tsx
 * bin/pipeline.ts"` once; afterwards it updates itself): the stacks of bin/app.ts, promoted through
 * environments.json, from the source and into the account and region `pipeline` in cdk.json names.
 */
const pipelineSchema = z.strictObject({
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region such as "eu-west-1"'),
  source: z.union([
    z.strictObject({ connection: z.strictObject({ repository: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'must be OWNER/NAME'), branch: z.string().default('main'), connectionArn: z.string().regex(/^arn:aws[a-z-]*:(codestar-connections|codeconnections):/, 'must be a CodeStar connection ARN') }) }),
    z.strictObject({ codeCommit: z.strictObject({ repository: z.string().min(1), branch: z.string().default('main') }) }),
    z.strictObject({ s3: z.strictObject({ bucket: z.string().min(3), key: z.string().min(1) }) }),
  ], { error: () => 'must be one of { connection: { repository, branch, connectionArn } }, { codeCommit: { repository, branch } }, { s3: { bucket, key } }' }),
});

export function buildPipelineApp(app = new App()): App {
  const { config } = readAppConfig(app);
  const parsed = pipelineSchema.safeParse(app.node.tryGetContext('pipeline'));
  if (!parsed.success) throw new AppConfigError(`cdk.json context: ${formatIssues(parsed.error.issues.map((i) => ({ ...i, path: ['pipeline', ...i.path] }))).join('; ')}`);
  const { account, region, source } = parsed.data;
  new AgentPipeline(app, 'AgentPipeline', {
    env: { account, region },
    description: 'serverless-agents: the pipeline promoting the example stacks through environments.json',
    source: (scope) =>
      'connection' in source
        ? CodePipelineSource.connection(source.connection.repository, source.connection.branch, { connectionArn: source.connection.connectionArn })
        : 'codeCommit' in source
          ? CodePipelineSource.codeCommit(codecommit.Repository.fromRepositoryName(scope, 'Repository', source.codeCommit.repository), source.codeCommit.branch)
          : CodePipelineSource.s3(s3.Bucket.fromBucketName(scope, 'SourceBucket', source.s3.bucket), source.s3.key),
    environments: config.environments,
    stacks: (stage, target) => ({ ...exampleStacks(stage, target, config) }),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return app;
}

if (require.main === module) buildPipelineApp().synth();
