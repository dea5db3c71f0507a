import { Construct } from 'constructs';
import { ApplicationInsights, LogAnalyticsWorkspace } from './engine';
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

/**
 * Where agent functions send logs, traces and metrics: workspace-based Application Insights over a
 * Log Analytics workspace, both refusing key-based ingestion so only Entra ID identities write.
 */
export class AzureObservability extends Construct {
  readonly workspace: LogAnalyticsWorkspace;
  readonly insights: ApplicationInsights;

  constructor(scope: Construct, id: string, props: AzureObservabilityProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const retentionInDays = props.retentionInDays ?? 90;
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
}
