import { Construct } from 'constructs';
import { auditKql, AUDIT_KQL_QUERIES } from '../../contract/audit/kql-queries';
import { AUDIT_LOGS_STREAM, AUDIT_LOGS_STREAM_COLUMNS, AUDIT_LOGS_TABLE, AUDIT_LOGS_TABLE_COLUMNS, AUDIT_LOGS_TRANSFORM } from '../../contract/audit/log-analytics';
import { AZURE_RUNTIME_ENV } from '../../contract/config/settings';
import { assignRole, globalName, type AzurePrincipal } from './defaults';
import { LogAnalyticsSavedSearch, LogAnalyticsWorkspaceTableCustomLog, MonitorDataCollectionEndpoint, MonitorDataCollectionRule, MonitorDiagnosticSetting, type TerraformResource } from './engine';
import type { AzureObservability } from './observability';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureAuditLogsProps {
  /** The workspace the audit table is created in, and its resource group and region. */
  readonly observability: AzureObservability;
  /**
   * What the data collection endpoint and rule are named after (`<name>-dce`, `<name>-dcr`), unique
   * in the resource group: 1-40 letters, digits and hyphens, as an endpoint's name allows 44 characters.
   * @default derived from the construct path
   */
  readonly name?: string;
  /**
   * Days the table keeps a row where queries reach it. Blob storage keeps the records themselves
   * for as long as the audit store's retention, whatever this is.
   * @default the workspace's retention
   */
  readonly retentionInDays?: number;
}

/** The saved searches' category in the workspace's query explorer. */
export const AUDIT_QUERY_CATEGORY = 'Agent audit';

/**
 * Every agent's audit records, queryable in Log Analytics without a key: the custom table
 * `AgentAudit_CL` with the audit schema's columns (contract/audit/log-analytics.ts), the data
 * collection endpoint and rule the runtime sends each record through as a row (the rule's transform
 * sets `TimeGenerated` from the record's start), and the standard questions as saved searches, one
 * per SQL query the AWS side saves in Athena, under the same names (contract/audit/kql-queries.ts).
 * Blob storage stays the record of truth; this is its copy to query. One per workspace: the table
 * and the saved searches have fixed names there.
 */
export class AzureAuditLogs extends Construct {
  readonly table: LogAnalyticsWorkspaceTableCustomLog;
  readonly endpoint: MonitorDataCollectionEndpoint;
  readonly rule: MonitorDataCollectionRule;
  /** The rule's error log (DCRLogErrors) into the workspace. */
  readonly errorLog: MonitorDiagnosticSetting;
  /** The saved searches, by query name. */
  readonly searches: ReadonlyMap<string, LogAnalyticsSavedSearch>;
  /** The app settings that make an agent's runtime send its records here (with `grantIngest`). */
  readonly settings: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: AzureAuditLogsProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const { workspace } = props.observability;
    const retention = props.retentionInDays;
    if (retention !== undefined && !(Number.isInteger(retention) && retention >= 4 && retention <= 730)) {
      throw new Error(`AzureAuditLogs ${this.node.path}: retentionInDays must be a whole number of days from 4 to 730, as Log Analytics allows; got ${retention}`);
    }
    const name = props.name ?? globalName(this, 40);
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,38}[A-Za-z0-9])?$/.test(name)) throw new Error(`AzureAuditLogs ${this.node.path}: name must be 1-40 letters, digits and hyphens, starting and ending with a letter or digit (its data collection endpoint is <name>-dce, at most 44); got "${name}"`);
    const location = { resourceGroupName: props.observability.resourceGroupName, location: props.observability.location };

    this.table = new LogAnalyticsWorkspaceTableCustomLog(this, 'Table', {
      name: AUDIT_LOGS_TABLE,
      workspaceId: workspace.id,
      description: 'Agent audit records (run and step), copied from the agents\' audit storage by their runtime',
      // The tables API spells the time type `dateTime` (the provider checks it case-sensitively); streams and KQL say `datetime`.
      column: AUDIT_LOGS_TABLE_COLUMNS.map((c) => ({ name: c.name, type: c.type === 'datetime' ? 'dateTime' : c.type, description: c.description.slice(0, 1024) })),
      ...(retention !== undefined && { retentionInDays: retention }),
    });
    // Entra ID only: the Logs Ingestion API takes no keys.
    this.endpoint = new MonitorDataCollectionEndpoint(this, 'Endpoint', { name: `${name}-dce`, ...location, description: 'Where agents send their audit records as rows' });
    this.rule = new MonitorDataCollectionRule(this, 'Rule', {
      name: `${name}-dcr`,
      ...location,
      description: `Agent audit records into ${AUDIT_LOGS_TABLE}`,
      dataCollectionEndpointId: this.endpoint.id,
      streamDeclaration: [{ streamName: AUDIT_LOGS_STREAM, column: AUDIT_LOGS_STREAM_COLUMNS.map((c) => ({ name: c.name, type: c.type })) }],
      destinations: { logAnalytics: [{ name: 'audit', workspaceResourceId: workspace.id }] },
      dataFlow: [{ streams: [AUDIT_LOGS_STREAM], destinations: ['audit'], outputStream: `Custom-${AUDIT_LOGS_TABLE}`, transformKql: AUDIT_LOGS_TRANSFORM }],
      // The rule's output stream must exist when the rule is created.
      dependsOn: [this.table],
    });
    // Rows the rule takes but cannot write reach no one else: its error log goes to the workspace.
    this.errorLog = new MonitorDiagnosticSetting(this, 'RuleErrors', {
      name: 'log-errors',
      targetResourceId: this.rule.id,
      logAnalyticsWorkspaceId: workspace.id,
      logAnalyticsDestinationType: 'Dedicated',
      enabledLog: [{ category: 'LogErrors' }],
    });
    this.searches = new Map(
      AUDIT_KQL_QUERIES.map((query) => [
        query.name,
        new LogAnalyticsSavedSearch(this, `Query-${query.name}`, {
          name: query.name,
          displayName: query.name,
          category: AUDIT_QUERY_CATEGORY,
          logAnalyticsWorkspaceId: workspace.id,
          query: auditKql(query),
          dependsOn: [this.table],
        }),
      ]),
    );
    this.settings = { [AZURE_RUNTIME_ENV.auditLogsEndpoint]: this.endpoint.logsIngestionEndpoint, [AZURE_RUNTIME_ENV.auditLogsRuleId]: this.rule.immutableId };
  }

  /** Lets an identity send rows to the rule's stream, and nothing else: Monitoring Metrics Publisher on the rule alone. */
  grantIngest(principal: AzurePrincipal, id: string): TerraformResource {
    return assignRole(this, `Ingester-${id}`, this.rule.id, 'Monitoring Metrics Publisher', principal);
  }
}
