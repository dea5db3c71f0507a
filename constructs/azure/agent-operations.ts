import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import type { AzureAgentContainer } from './agent-container';
import type { AzureAgentFunction } from './agent-function';
import { AzureAuditLogs } from './audit-logs';
import { AzureCohortOperations, type AzureBudgetScope, type CohortThresholds } from './cohort-operations';
import { deployer, globalName, NAME_SEED_CONTEXT } from './defaults';
import { ApplicationInsightsWorkbook, Fn, Lazy, MonitorActionGroup, MonitorScheduledQueryRulesAlertV2, type ServicebusNamespace } from './engine';
import type { AzureObservability } from './observability';
import { auditIngestionFailuresQuery, auditPipelineErrorsQuery } from './operations-queries';
import { operationsWorkbook } from './operations-workbook';
import { AzureSecureDefaults } from './secure-defaults';

export type { AzureBudgetScope } from './cohort-operations';

/** An agent the operations layer watches: a function or a container agent. */
export type AzureOperatedAgent = AzureAgentFunction | AzureAgentContainer;

/** Who the action group notifies. */
export interface AzureOperationsNotify {
  /** Addresses every alert and budget notification is emailed to. @default none */
  readonly emails?: readonly string[];
  /** HTTPS endpoints every alert is posted to, in Azure Monitor's common alert schema. @default none */
  readonly webhooks?: readonly string[];
}

/** The thresholds of each cohort's alerts. */
export interface AzureCohortAlertThresholds {
  /**
   * The share of a cohort's runs in 15 minutes that may end without a valid answer, from 0 to 1.
   * @default 0.1
   */
  readonly failedRunRate?: number;
  /**
   * Final answers of a cohort that may fail validation (repairs exhausted) in 15 minutes.
   * @default 0: the first alerts
   */
  readonly validationFailures?: number;
  /**
   * USD a cohort's runs may spend in an hour by the router's prices (`CostUsd`), for every cohort or by cohort.
   * @default a day's share of the cohort's monthly budget (budget / 30), or 10 for a cohort without one
   */
  readonly costPerHourUsd?: number | Readonly<Record<string, number>>;
  /**
   * USD a cohort's runs may spend in 24 hours on models Azure does not bill (`ExternalCostUsd`:
   * providers other than Azure OpenAI), which no Azure budget sees; for every cohort or by cohort.
   * @default a day's share of the cohort's monthly budget (budget / 30), or 10 for a cohort without one
   */
  readonly externalCostPerDayUsd?: number | Readonly<Record<string, number>>;
}

export interface AzureAgentOperationsProps {
  /** The telemetry the agents write to: the workspace the audit table, the alerts and the workbook read. */
  readonly observability: AzureObservability;
  /**
   * The agents to watch; more can be added with `addAgent`. Each agent's cohort gets its alerts
   * and budget once, and each agent's runtime copies its audit records to `auditLogs`.
   * @default none yet
   */
  readonly agents?: readonly AzureOperatedAgent[];
  /**
   * Monthly budgets by cohort name (an agent's `cohort`, `default` unless its definition says), in
   * the billing currency of the scope, over the resources tagged with that cohort.
   * @default none: no budget
   */
  readonly budgets?: Readonly<Record<string, number>>;
  /**
   * Where the budgets count costs: a resource group, a subscription, or `'subscription'` for the
   * deploying identity's (every stack of an environment, as the environment's budgets in
   * environments.json are meant).
   * @default the resource group of the observability workspace, in the deploying identity's subscription
   */
  readonly budgetScope?: AzureBudgetScope | 'subscription';
  /**
   * Who the action group notifies of alerts and budgets.
   * @default no one: alerts and budget notifications reach the action group, visible in Azure Monitor
   */
  readonly notify?: AzureOperationsNotify;
  /** The thresholds of each cohort's alerts. @default each threshold's own default */
  readonly alerts?: AzureCohortAlertThresholds;
  /**
   * Where the agents' audit records are copied to be queried, or `false` to keep them in Blob storage only.
   * @default a new AzureAuditLogs in the observability workspace
   */
  readonly auditLogs?: AzureAuditLogs | false;
  /**
   * What alert rules, the action group and the workbook are named after, unique in the resource group.
   * @default derived from the construct path
   */
  readonly name?: string;
}

/** The spend alerts' threshold for a cohort without a budget. */
const UNBUDGETED_USD = 10;

/**
 * The operations layer of a fleet of agents on Azure, in one construct: the agents' audit records
 * queryable in Log Analytics with the standard questions saved (AzureAuditLogs); one workbook for
 * every agent, with parameters to pick cohorts and agents; one action group; per cohort, alerts on
 * failed runs, failed validations, spend per hour and spend outside Azure's bill, and a monthly
 * budget on the cohort tag its agents' resources carry; and one alert on audit records that missed
 * Log Analytics. Nothing in it is per agent: its resources grow with cohorts, never with agents
 * (each agent's identity gets its role on the data collection rule beside its other roles).
 */
export class AzureAgentOperations extends Construct {
  readonly actionGroup: MonitorActionGroup;
  readonly auditLogs?: AzureAuditLogs;
  readonly workbook: ApplicationInsightsWorkbook;
  /** Alerts when agents' audit records reached Blob storage but not Log Analytics. */
  readonly auditIngestionAlert?: MonitorScheduledQueryRulesAlertV2;
  /** The alert on rows the audit rule took but could not write (its error log). */
  readonly auditPipelineAlert?: MonitorScheduledQueryRulesAlertV2;
  private readonly cohortOperations = new Map<string, AzureCohortOperations>();
  private readonly agents = new Set<AzureOperatedAgent>();
  private readonly namespaces = new Map<ServicebusNamespace, string>();
  private readonly props: AzureAgentOperationsProps;
  private readonly prefix: string;
  private readonly location: { readonly resourceGroupName: string; readonly location: string };

  constructor(scope: Construct, id: string, props: AzureAgentOperationsProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    this.props = props;
    checkProps(this, props);
    const { observability } = props;
    this.prefix = props.name ?? globalName(this, 40);
    this.location = { resourceGroupName: observability.resourceGroupName, location: observability.location };

    this.actionGroup = new MonitorActionGroup(this, 'ActionGroup', {
      name: `${this.prefix}-agents`,
      shortName: 'agents-ops',
      resourceGroupName: observability.resourceGroupName,
      emailReceiver: (props.notify?.emails ?? []).map((emailAddress, i) => ({ name: `email-${i + 1}`, emailAddress, useCommonAlertSchema: true })),
      webhookReceiver: (props.notify?.webhooks ?? []).map((serviceUri, i) => ({ name: `webhook-${i + 1}`, serviceUri, useCommonAlertSchema: true })),
    });
    if (props.auditLogs !== false) {
      this.auditLogs = props.auditLogs ?? new AzureAuditLogs(this, 'AuditLogs', { observability, name: this.prefix });
      // Windows overlap the schedule, so a line that reaches the workspace late is still in the next
      // one; the tables come into being with their first rows, which a new workspace has yet to hold.
      const gapAlert = (id: string, suffix: string, description: string, query: string, measure: string) =>
        new MonitorScheduledQueryRulesAlertV2(this, id, {
          name: `${this.prefix}-${suffix}`,
          ...this.location,
          scopes: [observability.workspace.id],
          description,
          severity: 2,
          evaluationFrequency: 'PT15M',
          windowDuration: 'PT30M',
          criteria: [{ query, timeAggregationMethod: 'Total', metricMeasureColumn: measure, operator: 'GreaterThan', threshold: 0 }],
          skipQueryValidation: true,
          autoMitigationEnabled: true,
          action: { actionGroups: [this.actionGroup.id] },
        });
      this.auditIngestionAlert = gapAlert('AuditIngestionAlert', 'audit-ingestion', 'Agents kept audit records in Blob storage that did not reach Log Analytics: its queries miss them until they are sent again', auditIngestionFailuresQuery(), 'records');
      this.auditPipelineAlert = gapAlert('AuditPipelineAlert', 'audit-pipeline', 'The audit data collection rule took rows it could not write to the audit table (its error log, DCRLogErrors): Log Analytics misses them; the audit storage holds them', auditPipelineErrorsQuery(this.auditLogs.rule.id), 'errors');
    }
    this.workbook = new ApplicationInsightsWorkbook(this, 'Workbook', {
      name: workbookId(this),
      displayName: `Agents (${this.prefix})`,
      description: 'Runs, failures, latency, tokens, cost, fallbacks and dead letters of every agent, by cohort and agent',
      ...this.location,
      sourceId: Fn.lower(observability.workspace.id),
      category: 'workbook',
      // Read at synth: the agents added after this construct bring their queues' namespaces.
      dataJson: Lazy.stringValue({ produce: () => JSON.stringify(operationsWorkbook({ workspaceId: observability.workspace.id, namespaceIds: [...this.namespaces.values()] })) }),
    });
    for (const agent of props.agents ?? []) this.addAgent(agent);
    this.node.addValidation({ validate: () => this.budgetProblems() });
  }

  /**
   * Watches `agent`: its cohort gets its alerts and budget if it has none yet, its runtime copies
   * its audit records to `auditLogs`, and its queue's dead letters join the workbook.
   */
  addAgent(agent: AzureOperatedAgent): void {
    if (this.agents.has(agent)) return;
    this.agents.add(agent);
    const { cohort } = agent.definition;
    if (!this.cohortOperations.has(cohort)) this.cohortOperations.set(cohort, this.forCohort(cohort));
    if (this.auditLogs) agent.sendAuditTo(this.auditLogs);
    if (agent.queue) this.namespaces.set(agent.queue.namespace, agent.queue.namespace.id);
  }

  private budgetScope(scope: AzureAgentOperationsProps['budgetScope']): AzureBudgetScope {
    if (scope === 'subscription') return { subscriptionId: deployer(this).subscriptionId };
    return scope ?? { resourceGroupId: `/subscriptions/${deployer(this).subscriptionId}/resourceGroups/${this.props.observability.resourceGroupName}` };
  }

  /** The alerts and budget of each cohort of the agents, by cohort. */
  get cohorts(): ReadonlyMap<string, AzureCohortOperations> {
    return this.cohortOperations;
  }

  private forCohort(cohort: string): AzureCohortOperations {
    const { props } = this;
    const amount = props.budgets?.[cohort];
    const byCohort = (value: number | Readonly<Record<string, number>> | undefined) => (typeof value === 'number' ? value : value?.[cohort]);
    const dayOfBudget = amount !== undefined ? Math.round((amount / 30) * 100) / 100 : UNBUDGETED_USD;
    const thresholds: CohortThresholds = {
      failedRunRate: props.alerts?.failedRunRate ?? 0.1,
      validationFailures: props.alerts?.validationFailures ?? 0,
      costPerHourUsd: byCohort(props.alerts?.costPerHourUsd) ?? dayOfBudget,
      externalCostPerDayUsd: byCohort(props.alerts?.externalCostPerDayUsd) ?? dayOfBudget,
    };
    return new AzureCohortOperations(this, `Cohort-${cohort}`, {
      cohort,
      namePrefix: this.prefix,
      budgetName: globalName(this, 63, `-${cohort}`),
      ...this.location,
      workspaceId: props.observability.workspace.id,
      actionGroupId: this.actionGroup.id,
      thresholds,
      ...(amount !== undefined && { budget: { amount, scope: this.budgetScope(props.budgetScope) } }),
    });
  }

  /** A budget for a cohort no agent has is a typo, or an agent not added: found at synth. */
  private budgetProblems(): string[] {
    const unknown = Object.keys(this.props.budgets ?? {}).filter((cohort) => !this.cohortOperations.has(cohort));
    return unknown.length
      ? [`AzureAgentOperations ${this.node.path}: budgets name cohort${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, which no agent it watches has (its agents' cohorts: ${[...this.cohortOperations.keys()].join(', ') || 'none'}); add the agents with addAgent, or fix the name`]
      : [];
  }
}

function checkProps(scope: Construct, props: AzureAgentOperationsProps): void {
  const problems: string[] = [];
  // Consumption budgets start at 1 in the billing currency.
  for (const [cohort, amount] of Object.entries(props.budgets ?? {})) if (!(Number.isFinite(amount) && amount >= 1)) problems.push(`budgets.${cohort}: must be an amount of at least 1; got ${amount}`);
  const share = props.alerts?.failedRunRate;
  // At 1 the alert could never fire: no share of runs is above all of them.
  if (share !== undefined && !(share >= 0 && share < 1)) problems.push(`alerts.failedRunRate: must be a share of runs from 0 up to, not including, 1; got ${share}`);
  const failures = props.alerts?.validationFailures;
  if (failures !== undefined && !(Number.isInteger(failures) && failures >= 0)) problems.push(`alerts.validationFailures: must be a whole number of answers, 0 or more; got ${failures}`);
  for (const key of ['costPerHourUsd', 'externalCostPerDayUsd'] as const) {
    const value = props.alerts?.[key];
    const values = typeof value === 'number' ? { '': value } : (value ?? {});
    for (const [cohort, usd] of Object.entries(values)) if (!(Number.isFinite(usd) && usd > 0)) problems.push(`alerts.${key}${cohort ? `.${cohort}` : ''}: must be an amount above 0; got ${usd}`);
  }
  for (const webhook of props.notify?.webhooks ?? []) if (!/^https:\/\//.test(webhook)) problems.push(`notify.webhooks: ${webhook} is not an https URL; alerts carry what went wrong, so they travel over TLS only`);
  for (const email of props.notify?.emails ?? []) if (!/^[^@\s]+@[^@\s]+$/.test(email)) problems.push(`notify.emails: ${email} is not an email address`);
  if (problems.length) throw new Error(`AzureAgentOperations ${scope.node.path}:\n  ${problems.join('\n  ')}`);
}

/** A workbook is named by a GUID: one derived from the construct path, the same at every synth. */
function workbookId(scope: Construct): string {
  const seed = String(scope.node.tryGetContext(NAME_SEED_CONTEXT) ?? '');
  const h = createHash('sha256').update(`workbook/${seed}/${scope.node.path}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
