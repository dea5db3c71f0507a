#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { SmokeCheck } from '../constructs/aws/smoke-check';
import { awsTargets, targetStackName, type AwsTarget } from '../contract/delivery/environments';
import { HybridStack } from '../stacks/hybrid/hybrid-stack';
import { MultiAgentStack } from '../stacks/multi-agent/multi-agent-stack';
import { SingleAgentStack } from '../stacks/single-agent/single-agent-stack';
import { readAppConfig, type AppConfig } from './config';

/** The example stacks of one AWS target, by base name (the `stack` a smoke check names). */
export interface ExampleStacks {
  readonly SupportAgent: SingleAgentStack;
  readonly SupportTeam: MultiAgentStack;
  readonly HybridAgents: HybridStack;
}

/**
 * The stage-1, stage-2 and stage-3 stacks of one environment's region, in `scope`: the app, or a
 * pipeline's stage. Named `<base>-<target>` either way, so the pipeline deploys the very stacks
 * `cdk deploy -c stage=...` does.
 */
export function exampleStacks(scope: Construct, target: AwsTarget, config: AppConfig): ExampleStacks {
  const common = {
    env: { account: target.account ?? (process.env.CDK_DEFAULT_ACCOUNT || undefined), region: target.region },
    tags: { 'serverless-agents:environment': target.environment },
    models: config.models,
    toolPolicies: config.toolPolicies,
    ...(target.rollout && { rollout: target.rollout }),
  };
  const named = (base: string) => ({ stackName: targetStackName(base, target) });
  // In the app the construct id is the stack name; in a stage, the base (the stage adds its own prefix to paths only).
  const id = (base: string) => (scope instanceof App ? targetStackName(base, target) : base);
  return {
    // AWS Budgets cover the account: the support cohort's budget (all three stacks' agents) lives in the
    // environment's home-region stage-1 stack only.
    SupportAgent: new SingleAgentStack(scope, id('SupportAgent'), { ...common, ...named('SupportAgent'), ...(target.home && target.budgets && { monthlyBudgetUsd: target.budgets }), description: `serverless-agents stage 1: the support agent (${target.id})` }),
    SupportTeam: new MultiAgentStack(scope, id('SupportTeam'), { ...common, ...named('SupportTeam'), description: `serverless-agents stage 2: a triage agent with billing and technical specialists (${target.id})` }),
    HybridAgents: new HybridStack(scope, id('HybridAgents'), { ...common, ...named('HybridAgents'), description: `serverless-agents stage 3: a serverless intake agent handing research to a container agent (${target.id})` }),
  };
}

/**
 * The example app: the stage-1, stage-2 and stage-3 stacks once per region of each environment in
 * environments.json, checked by the AwsSolutions and Serverless rule packs. `npx cdk synth -c
 * stage=dev` builds one environment.
 */
export function buildApp(app = new App()): App {
  const { config, stages } = readAppConfig(app);
  for (const target of awsTargets(config.environments, stages)) {
    const stacks = exampleStacks(app, target, config);
    // The role and outputs the GitHub workflow's check after a deploy uses (the pipeline adds its own).
    const smoke = config.environments[target.environment]!.smoke;
    if (smoke) new SmokeCheck(stacks[smoke.stack as keyof ExampleStacks], 'SmokeCheck', { agent: smoke.agent, target: target.id, ...(target.deliveryAccount && { trustedAccount: target.deliveryAccount }) });
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return app;
}

if (require.main === module) buildApp().synth();
