#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { HybridStack } from '../stacks/hybrid/hybrid-stack';
import { MultiAgentStack } from '../stacks/multi-agent/multi-agent-stack';
import { SingleAgentStack } from '../stacks/single-agent/single-agent-stack';
import { readAppConfig } from './config';

/**
 * The example app: the stage-1, stage-2 and stage-3 stacks once per environment in cdk.json, checked by the
 * AwsSolutions and Serverless rule packs. `npx cdk synth -c stage=dev` builds one environment.
 */
export function buildApp(app = new App()): App {
  const { config, stages } = readAppConfig(app);
  for (const stage of stages) {
    const env = config.environments[stage]!;
    new SingleAgentStack(app, `SupportAgent-${stage}`, {
      env: { account: env.account ?? (process.env.CDK_DEFAULT_ACCOUNT || undefined), region: env.region },
      description: `serverless-agents stage 1: the support agent (${stage})`,
      tags: { 'serverless-agents:environment': stage },
      models: config.models,
      toolPolicies: config.toolPolicies,
    });
    new MultiAgentStack(app, `SupportTeam-${stage}`, {
      env: { account: env.account ?? (process.env.CDK_DEFAULT_ACCOUNT || undefined), region: env.region },
      description: `serverless-agents stage 2: a triage agent with billing and technical specialists (${stage})`,
      tags: { 'serverless-agents:environment': stage },
      models: config.models,
      toolPolicies: config.toolPolicies,
    });
    new HybridStack(app, `HybridAgents-${stage}`, {
      env: { account: env.account ?? (process.env.CDK_DEFAULT_ACCOUNT || undefined), region: env.region },
      description: `serverless-agents stage 3: a serverless intake agent handing research to a container agent (${stage})`,
      tags: { 'serverless-agents:environment': stage },
      models: config.models,
      toolPolicies: config.toolPolicies,
    });
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return app;
}

if (require.main === module) buildApp().synth();
