/**
 * The package root, `serverless-agents`: the cloud-neutral agent definition, model routing, tool
 * policies and skills, and the types of what crosses the wire (request bodies, job records, agent
 * events, run results). It loads no cloud toolkit; the constructs are `serverless-agents/aws` and
 * `serverless-agents/azure`.
 */
export { AGENT_NAME_MAX, agentDefinitionSchema } from './definition/schema';
export { AGENT_TOOL_INPUT, HANDOFF_TOOL } from './definition/schema';
export type { AgentCallTool, AgentDefinitionInput, AgentHandoff, AgentLimits, AgentOutput, AgentSpec, AgentTool, AgentTrigger, ModelReference, OutputRule } from './definition/schema';
export { AgentDefinitionError, defineAgent, formatIssues, type AgentDefinition, type DefineAgentOptions } from './definition/define';
export { contentHash, definitionVersion } from './definition/integrity';
export { loadAgentFile } from './definition/load';
export { aliasesFor, parseRouterConfig, pricesFor, resolveModel, RouterConfigError, routerConfigSchema, toRuntimeTarget } from './routing/config';
export type { ModelTargetSpec, RouterConfig, RouterPolicy } from './routing/config';
export { parseToolPolicy, toolPolicySchema, type ToolPolicy, type ToolPolicyInput } from './policy/tool-policy';
export { toolDenial } from './policy/tool-denial';
export { readSkillsFolder, skillProblems, SKILL_FILE, SKILL_INDEX_KEY, SkillError, type SkillIndex, type SkillSummary } from './skills/catalog';
export { decodeAgentConfig, type AgentRuntimeConfig, type ModelPrice, type ModelTargetConfig } from './config/runtime-config';
export { parseRequestBody, requestBodySchema, type RequestBody } from './api/request';
export type { JobAccepted, JobMessage, JobMessageAttributes, ScheduleMessage } from './api/messages';
export type { Invocation } from './api/invocation';
export { JOB_RETENTION_DAYS, type ChainLink, type ChildRun, type JobRecord, type JobStatus } from './jobs/job-record';
export { AgentTeamGraph, type TeamEdge } from './chain/team';
export { FLEET_LOCK_CONTEXT, FleetLockError, fleetPlacement, placeFleet, readFleetLock, type FleetLock, type FleetPlacement } from './fleet/lock';
export { AGENTCORE_REQUEST_MAX_SECONDS, AGENTCORE_RUN_MAX_SECONDS, CONTAINER_RUN_MAX_SECONDS, maxRunSeconds, PLACEMENT_LIMITS, PLACEMENTS, type Placement, type PlacementLimits } from './placement/placement';
export { taskEventType, TASK_MESSAGE_LIMIT, type AgentTask, type ChainEnvelope, type RefusalReason, type TaskKind, type TaskResult } from './chain/envelope';
export type { RunStopReason, Usage, ValidationProblem, ValidationReport } from './runs/results';
export { AGENT_EVENT_SOURCE, AGENT_EVENT_TYPES, type AgentEventDetail, type AgentEventType } from './events/agent-events';
export { METRICS_NAMESPACE, RUN_METRICS, type RunMetric } from './metrics/run-metrics';
export { awsTargets, environmentSchema, environmentsSchema, EnvironmentsError, parseEnvironments, readEnvironments, targetStackName, type AwsTarget, type DeploymentEnvironment, type DeploymentEnvironmentInput, type DeploymentEnvironments } from './delivery/environments';
export { checkRollout, describeRollout, isGradual, parseRollout, ROLLOUT_STEPS, RolloutError, rolloutSchema, type GradualRollout, type Rollout, type RolloutInput } from './delivery/rollout';
export { deliveryEnvironments, githubWorkflow, WORKFLOW_VARIABLES, workflowProblems, type DeliveredStacks, type DeliveryEnvironment, type GitHubWorkflowOptions } from './delivery/github-workflow';
export { SMOKE_OUTPUTS, smokeCommands, smokeRoleName, type SmokeQuestion } from './delivery/smoke-check';
export { AUDIT_COLUMNS, AUDIT_PARTITIONS, AUDIT_SCHEMA_VERSION, auditRow, hiveType, logAnalyticsType, type AuditColumn, type AuditType } from './audit/schema';
export { AUDIT_QUERIES, type AuditQuery } from './audit/queries';
export { AUDIT_KQL_QUERIES, auditKql, type AuditKqlParameter, type AuditKqlQuery } from './audit/kql-queries';
export { AUDIT_LOGS_TABLE } from './audit/log-analytics';
export { cohortDimensions, metricDimensions } from './metrics/run-metrics';
