import { join } from 'node:path';
import { App, Validations, type Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { AgentDefinition } from '../../contract/definition';
import { SingleAgentStack } from '../../stacks/single-agent/single-agent-stack';

const models = JSON.parse(require('node:fs').readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context.models;

/** serverless-agents: the stage-1 stack holding the whole fleet, checked by the rule packs as shipped. */
export function leanApp(app: App, agents: AgentDefinition[], rulePacks = true): Stack {
  const stack = new SingleAgentStack(app, 'Lean', { env: { account: '123456789012', region: 'eu-west-1' }, models, agents });
  if (rulePacks) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return stack;
}
