/**
 * The Azure constructs: `serverless-agents/azure`, an entry point of their own so an AWS app never
 * loads CDK for Terraform. The agent definition and routing helpers come from the package root.
 */
// First, so a missing CDK for Terraform is reported with what to install.
import './peers';

export * from './agent-events';
export * from './agent-function';
export * from './agent-queue';
export * from './agent-team';
export * from './model-router';
export { AzureObservability, type AzureObservabilityProps, type FailedRunAlertOptions } from './observability';
export type { AzureAuditStore } from './audit-store';
export { AzureAuditLogs, AUDIT_QUERY_CATEGORY, type AzureAuditLogsProps } from './audit-logs';
export { AzureAgentOperations, type AzureAgentOperationsProps, type AzureOperatedAgent, type AzureOperationsNotify, type AzureCohortAlertThresholds, type AzureBudgetScope } from './agent-operations';
export type { AzureCohortOperations } from './cohort-operations';
export { COHORT_TAG } from './cohort-tags';
export * from './runtime-package';
export * from './secrets';
export { AzureSecureDefaults, AZURE_SECURE_DEFAULT_RULES, type AzureAcknowledgment } from './secure-defaults';
export * from './skill-store';
export { toNcrontab } from './schedule';
export * from './agent-access';
export * from './agent-container';
export * from './container-environment';
export { AZURE_QUOTAS, azureQuotaProblems, checkAzureQuotas, type AzureQuota } from './quotas';
export * from './agent-fleet';
export { AzureAgentStorage, FUNCTIONS_HOST_CONTAINERS, type AzureAgentStorageProps, type AgentPlace, type FunctionsHostPaths } from './agent-storage';
export { AzureRoleGroups, type AzureRoleGroupsProps } from './role-groups';
export { AzureGitHubDeployIdentity, assignableOnly, type AzureGitHubDeployIdentityProps } from './github-deploy-identity';
export { AZURE_ASSIGNED_ROLES } from './defaults';
// Names a stack of one's own gives its globally named resources, alike with the constructs' own.
export { globalName, storageAccountName, NAME_SEED_CONTEXT } from './defaults';
