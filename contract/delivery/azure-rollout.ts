/**
 * What a staged Azure agent's rollout needs to know, written by AzureAgentFunction as a Terraform
 * output and read by `npm run azure-rollout` from `cdktf deploy --outputs-file`.
 */
export const AZURE_ROLLOUT_OUTPUT = 'serverless-agents/azure-rollout';

export interface AzureRolloutTarget {
  readonly kind: typeof AZURE_ROLLOUT_OUTPUT;
  readonly agent: string;
  /** The Function App, whose `staging` slot holds the new version. */
  readonly app: string;
  readonly resourceGroup: string;
  /** The Application Insights the agent's run metrics go to. */
  readonly insightsAppId: string;
  /**
   * How long the swapped-in version is watched: a canary's minutes, or a linear rollout's ten
   * steps (the time AWS takes to shift all traffic).
   */
  readonly minutes: number;
  readonly maxRunFailureRate: number;
  readonly maxValidationFailureRate: number;
}

/** The targets among a `cdktf deploy --outputs-file` file's outputs (by stack, then output id). */
export function azureRolloutTargets(outputs: unknown): AzureRolloutTarget[] {
  const found: AzureRolloutTarget[] = [];
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    if ((value as { kind?: unknown }).kind === AZURE_ROLLOUT_OUTPUT) found.push(value as AzureRolloutTarget);
    else for (const v of Object.values(value)) visit(v);
  };
  visit(outputs);
  return found;
}

/**
 * The settings that stay with the staging slot across a swap (sticky): a function switched off
 * there, its host id, its task hub. Production never has them; the rest of a slot's settings is
 * the version it holds.
 */
export const STAGING_ONLY_SETTINGS = {
  disabled: (fn: string) => `AzureWebJobs.${fn}.Disabled`,
  hostId: 'AzureFunctionsWebHost__hostid',
  taskHub: 'AzureFunctionsJobHost__extensions__durableTask__hubName',
} as const;

export const isStagingOnlySetting = (name: string): boolean =>
  /^AzureWebJobs\.[A-Za-z0-9_]+\.Disabled$/.test(name) || name === STAGING_ONLY_SETTINGS.hostId || name === STAGING_ONLY_SETTINGS.taskHub;
