/**
 * The runtime's own metrics, as the runtime emits them (CloudWatch embedded metric format through
 * Powertools on AWS, a structured log line on Azure) and as the constructs' `metric*` methods read
 * them back: one namespace, one set of names, the same dimensions on both sides.
 */
export const METRICS_NAMESPACE = 'ServerlessAgents';

/** The service every agent reports as; Powertools adds it as a dimension. */
export const METRICS_SERVICE = 'serverless-agents';

export const RUN_METRICS = [
  'Runs',
  'RunFailures',
  'RunLatency',
  'InputTokens',
  'OutputTokens',
  'CacheReadTokens',
  'CacheWriteTokens',
  'CostUsd',
  'ExternalCostUsd',
  'ToolCalls',
  'ToolFailures',
  'ToolDenials',
  'SkillActivations',
  'Refusals',
  'ModelFallbacks',
  'ValidationFailures',
  'HandoffRefusals',
  'ToolRejections',
] as const;

export type RunMetric = (typeof RUN_METRICS)[number];

/** The dimensions every run metric carries: the service, the agent and its cohort. */
export const metricDimensions = (agent: string, cohort: string) => ({ service: METRICS_SERVICE, agent, cohort });

/**
 * The dimensions every run metric is also published under on AWS: the cohort's total, so one
 * alarm and one graph per cohort cover all its agents, however many (CloudWatch alarms cannot sum
 * a search over agents).
 */
export const cohortDimensions = (cohort: string) => ({ service: METRICS_SERVICE, cohort });
