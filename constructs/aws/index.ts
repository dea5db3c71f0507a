/**
 * The AWS constructs: `serverless-agents/aws`. The agent definition and the routing and skills
 * helpers come from the package root, `serverless-agents`.
 */
// First, so a missing aws-cdk-lib is reported with what to install.
import './peers';

export * from './agent-api';
export * from './agent-bus';
export * from './agent-container';
export * from './agentcore-agent';
export * from './agent-function';
export * from './agent-queue';
export * from './agent-state-table';
export * from './agent-team';
export * from './audit-bucket';
export * from './dead-letter-queue';
export * from './model-router';
export * from './place-agent';
export * from './skill-bucket';
export * from './agent-fleet';
export * from './stack-budget';
export { SharedStatements } from './agent-role';
export * from './github-deploy-role';
export * from './agent-rollout';
export * from './agent-pipeline';
export * from './smoke-check';
export * from './agent-operations';
export * from './audit-queries';
export * from './fleet-dashboard';
export * from './cohort-budgets';
