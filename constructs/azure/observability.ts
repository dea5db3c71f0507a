import { Construct } from 'constructs';
import { agentRunMetricLines } from '../../contract/metrics/azure-run-metrics';
import { ApplicationInsights, LogAnalyticsWorkspace, MonitorScheduledQueryRulesAlertV2, TerraformStack } from './engine';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureObservabilityProps {
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * How long logs and telemetry are kept.
   * @default 90
   */
  readonly retentionInDays?: number;
}

export interface FailedRunAlertOptions {
  /**
   * Where the alert notifies.
   * @default no action group: the alert is visible in Azure Monitor only
   */
  readonly actionGroupId?: string;
  /**
   * The agent's construct: in another stack than the telemetry (a fleet's shard), the alert is
   * declared there, so adding or removing an agent changes its own stack only.
   * @default the alert is declared beside the telemetry
   */
  readonly owner?: Construct;
  /**
   * The container app the agent runs in, whose console logs (in the workspace, through its
   * environment's diagnostic setting) carry the metrics line instead of Application Insights.
   * @default none: the agent is a Function App, whose host sends the line to Application Insights
   */
  readonly containerApp?: string;
}

/**
 * The app settings that keep every run's metrics line out of Application Insights sampling: the
 * line is a trace, and adaptive sampling (on in the runtime's host.json, so busy apps stay
 * affordable) would otherwise drop some, and with them failed runs. Requests stay unsampled as
 * before; other telemetry types are still sampled.
 */
export const UNSAMPLED_RUN_METRICS_SETTINGS: Readonly<Record<string, string>> = {
  AzureFunctionsJobHost__logging__applicationInsights__samplingSettings__excludedTypes: 'Request;Trace',
};

/**
 * Where agent functions send logs, traces and metrics: workspace-based Application Insights over a
 * Log Analytics workspace, both refusing key-based ingestion so only Entra ID identities write.
 */
export class AzureObservability extends Construct {
  readonly workspace: LogAnalyticsWorkspace;
  readonly insights: ApplicationInsights;
  /** The resource group and region of the workspace, where what reads it (alerts, the audit table's ingestion) goes too. */
  readonly resourceGroupName: string;
  readonly location: string;
  /** Days logs and telemetry are kept. */
  readonly retentionInDays: number;
  private readonly props: AzureObservabilityProps;

  constructor(scope: Construct, id: string, props: AzureObservabilityProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    this.props = props;
    this.resourceGroupName = props.resourceGroupName;
    this.location = props.location;
    const retentionInDays = (this.retentionInDays = props.retentionInDays ?? 90);
    if (retentionInDays < 30 || retentionInDays > 730) throw new Error(`AzureObservability ${this.node.path}: retentionInDays must be 30-730, got ${retentionInDays}`);
    this.workspace = new LogAnalyticsWorkspace(this, 'Workspace', {
      name: `${props.name}-logs`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: 'PerGB2018',
      retentionInDays,
      localAuthenticationEnabled: false,
    });
    this.insights = new ApplicationInsights(this, 'Insights', {
      name: `${props.name}-insights`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      applicationType: 'Node.JS',
      workspaceId: this.workspace.id,
      retentionInDays,
      localAuthenticationDisabled: true,
    });
  }

  /**
   * An alert on the first failed run of `agent` in five minutes: a run that ended without a valid
   * answer, as the runtime counts `RunFailures` in its metrics line (kept out of sampling by
   * `UNSAMPLED_RUN_METRICS_SETTINGS`, which the agent's app sets).
   */
  alertOnFailedRuns(agent: string, options: FailedRunAlertOptions = {}): MonitorScheduledQueryRulesAlertV2 {
    const beside = options.owner && TerraformStack.of(options.owner) !== TerraformStack.of(this);
    return new MonitorScheduledQueryRulesAlertV2(beside ? options.owner! : this, beside ? 'FailedRunAlert' : `FailedRuns-${agent}`, {
      name: `${this.props.name}-${agent}-failed-runs`,
      resourceGroupName: this.props.resourceGroupName,
      location: this.props.location,
      scopes: [options.containerApp ? this.workspace.id : this.insights.id],
      description: `Runs of agent ${agent} ended without a valid answer`,
      severity: 2,
      evaluationFrequency: 'PT5M',
      windowDuration: 'PT5M',
      criteria: [{ query: failedRunsQuery(agent, options.containerApp), timeAggregationMethod: 'Total', metricMeasureColumn: 'failures', operator: 'GreaterThan', threshold: 0 }],
      ...(options.actionGroupId && { action: { actionGroups: [options.actionGroupId] } }),
    });
  }
}

/**
 * Failed runs of one agent, from the metrics line the runtime writes after each run: a trace in
 * Application Insights from a Function App, a console line of `containerApp` from a container.
 */
export function failedRunsQuery(agent: string, containerApp?: string): string {
  const source = containerApp
    ? ['ContainerAppConsoleLogs', `| where ContainerAppName == ${JSON.stringify(containerApp)}`, '| extend message = Log, timestamp = TimeGenerated']
    : ['traces'];
  return [
    ...source,
    ...agentRunMetricLines(agent),
    '| extend failures = toint(line.metrics.RunFailures.value)',
    '| where failures > 0',
    '| project timestamp, failures',
  ].join('\n');
}
