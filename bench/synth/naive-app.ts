import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RUNTIMES } from '../../constructs/bundle/runtime-bundle';
import { AGENT_CONFIG_ENV, encodeAgentConfig } from '../../contract/config/runtime-config';
import { type AgentDefinition } from '../../contract/definition';

/**
 * The hand-rolled way, for comparison: each agent bundles the same runtime entry on its own (its
 * name baked in, as teams do), with its own queue, dead-letter queue and API method.
 */
export function naiveApp(app: App, agents: AgentDefinition[]): Stack {
  const stack = new Stack(app, 'Naive', { env: { account: '123456789012', region: 'eu-west-1' } });
  const api = new apigw.RestApi(stack, 'Api');
  const root = api.root.addResource('agents');
  for (const agent of agents) {
    const config = encodeAgentConfig({ definition: agent, route: [{ provider: 'bedrock', model: 'anthropic.claude-sonnet-4-5-20250929-v1:0' }] });
    const fn = new NodejsFunction(stack, `${agent.name}Fn`, {
      entry: join(__dirname, '..', '..', RUNTIMES.aws.entries.index!),
      depsLockFilePath: join(__dirname, '..', '..', 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      timeout: Duration.seconds(agent.limits.timeoutSeconds),
      bundling: { format: OutputFormat.ESM, minify: true, banner: `globalThis.AGENT_NAME=${JSON.stringify(agent.name)};` },
      environment: { [AGENT_CONFIG_ENV]: config },
    });
    const dlq = new sqs.Queue(stack, `${agent.name}Dlq`);
    const queue = new sqs.Queue(stack, `${agent.name}Queue`, { visibilityTimeout: Duration.seconds(agent.limits.timeoutSeconds * 6), deadLetterQueue: { queue: dlq, maxReceiveCount: 3 } });
    fn.addEventSource(new SqsEventSource(queue, { reportBatchItemFailures: true }));
    root.addResource(agent.name).addResource('invocations').addMethod('POST', new apigw.LambdaIntegration(fn), { authorizationType: apigw.AuthorizationType.IAM });
  }
  return stack;
}
