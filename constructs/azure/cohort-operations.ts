import { Construct } from 'constructs';
import { COHORT_TAG } from './cohort-tags';
import { ConsumptionBudgetResourceGroup, ConsumptionBudgetSubscription, Fn, MonitorScheduledQueryRulesAlertV2 } from './engine';
import { cohortCostQuery, cohortFailedRunsQuery, cohortValidationFailuresQuery } from './operations-queries';

/** Where a cohort's budget counts costs: a resource group, or a whole subscription. */
export type AzureBudgetScope = { readonly resourceGroupId: string } | { readonly subscriptionId: string };

/** The thresholds of one cohort's alerts, resolved. */
export interface CohortThresholds {
  readonly failedRunRate: number;
  readonly validationFailures: number;
  readonly costPerHourUsd: number;
  readonly externalCostPerDayUsd: number;
}

export interface CohortOperationsProps {
  readonly cohort: string;
  /** What rule names start with. */
  readonly namePrefix: string;
  readonly budgetName: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /** The workspace the alerts query. */
  readonly workspaceId: string;
  readonly actionGroupId: string;
  readonly thresholds: CohortThresholds;
  /**
   * The cohort's monthly budget in the billing currency, and where it counts.
   * @default no budget
   */
  readonly budget?: { readonly amount: number; readonly scope: AzureBudgetScope };
}

/**
 * One cohort's alerts and budget, however many agents it has: failed runs over a share of its
 * runs, answers failing validation, spend per hour, and spend no Azure bill shows, each a
 * scheduled query over the runtime's metrics lines filtered on the cohort; and a monthly
 * consumption budget filtered on the cohort tag its agents' resources carry. All notify one action group.
 */
export class AzureCohortOperations extends Construct {
  readonly failedRuns: MonitorScheduledQueryRulesAlertV2;
  readonly validationFailures: MonitorScheduledQueryRulesAlertV2;
  readonly cost: MonitorScheduledQueryRulesAlertV2;
  readonly externalCost: MonitorScheduledQueryRulesAlertV2;
  readonly budget?: ConsumptionBudgetResourceGroup | ConsumptionBudgetSubscription;

  constructor(scope: Construct, id: string, props: CohortOperationsProps) {
    super(scope, id);
    const { cohort, thresholds } = props;
    const alert = (id: string, suffix: string, o: { description: string; query: string; measure: string; aggregation: 'Average' | 'Total'; threshold: number; window: string; frequency: string; severity: number }) =>
      new MonitorScheduledQueryRulesAlertV2(this, id, {
        name: `${props.namePrefix}-${cohort}-${suffix}`,
        resourceGroupName: props.resourceGroupName,
        location: props.location,
        scopes: [props.workspaceId],
        description: o.description,
        severity: o.severity,
        evaluationFrequency: o.frequency,
        windowDuration: o.window,
        criteria: [{ query: o.query, timeAggregationMethod: o.aggregation, metricMeasureColumn: o.measure, operator: 'GreaterThan', threshold: o.threshold }],
        // The tables the query reads come into being with their first rows, which a new workspace has yet to hold.
        skipQueryValidation: true,
        // Stateful: one notification when it fires and one when it resolves, not one per evaluation
        // of the overlapping windows.
        autoMitigationEnabled: true,
        action: { actionGroups: [props.actionGroupId] },
      });
    this.failedRuns = alert('FailedRuns', 'failed-runs', {
      description: `More than ${pct(thresholds.failedRunRate)} of the runs of cohort ${cohort} in 15 minutes ended without a valid answer`,
      query: cohortFailedRunsQuery(cohort),
      measure: 'failed',
      aggregation: 'Average',
      threshold: thresholds.failedRunRate,
      window: 'PT15M',
      frequency: 'PT5M',
      severity: 1,
    });
    this.validationFailures = alert('ValidationFailures', 'validation-failures', {
      description: `More than ${thresholds.validationFailures} answers of cohort ${cohort} in 15 minutes failed the output contract, repairs exhausted`,
      query: cohortValidationFailuresQuery(cohort),
      measure: 'validation_failures',
      aggregation: 'Total',
      threshold: thresholds.validationFailures,
      window: 'PT15M',
      frequency: 'PT5M',
      severity: 2,
    });
    this.cost = alert('Cost', 'cost-per-hour', {
      description: `The runs of cohort ${cohort} spent more than ${thresholds.costPerHourUsd} USD in an hour, by the router's prices`,
      query: cohortCostQuery(cohort, 'CostUsd'),
      measure: 'cost_usd',
      aggregation: 'Total',
      threshold: thresholds.costPerHourUsd,
      window: 'PT1H',
      frequency: 'PT15M',
      severity: 2,
    });
    this.externalCost = alert('ExternalCost', 'external-cost-per-day', {
      description: `The runs of cohort ${cohort} spent more than ${thresholds.externalCostPerDayUsd} USD in 24 hours on models Azure does not bill, which no Azure budget sees`,
      query: cohortCostQuery(cohort, 'ExternalCostUsd'),
      measure: 'cost_usd',
      aggregation: 'Total',
      threshold: thresholds.externalCostPerDayUsd,
      window: 'P1D',
      frequency: 'PT1H',
      severity: 2,
    });
    if (props.budget) this.budget = budget(this, props, props.budget);
  }
}

const pct = (share: number) => `${Math.round(share * 1000) / 10}%`;

/**
 * A monthly budget over the resources tagged with the cohort: 80% of it spent, and 100% forecast,
 * notify the action group. Its period starts on the first of the month it is created in (Azure
 * refuses a start before the current month); later plans leave the period alone.
 */
function budget(scope: Construct, props: CohortOperationsProps, budget: NonNullable<CohortOperationsProps['budget']>): ConsumptionBudgetResourceGroup | ConsumptionBudgetSubscription {
  const common = {
    name: props.budgetName,
    amount: budget.amount,
    timeGrain: 'Monthly',
    timePeriod: { startDate: Fn.formatdate("YYYY-MM-01'T'00:00:00Z", Fn.timestamp()) },
    filter: { tag: [{ name: COHORT_TAG, operator: 'In', values: [props.cohort] }] },
    notification: [
      { enabled: true, threshold: 80, thresholdType: 'Actual', operator: 'GreaterThanOrEqualTo', contactGroups: [props.actionGroupId] },
      { enabled: true, threshold: 100, thresholdType: 'Forecasted', operator: 'GreaterThanOrEqualTo', contactGroups: [props.actionGroupId] },
    ],
    lifecycle: { ignoreChanges: ['time_period'] },
  };
  return 'resourceGroupId' in budget.scope
    ? new ConsumptionBudgetResourceGroup(scope, 'Budget', { ...common, resourceGroupId: budget.scope.resourceGroupId })
    : new ConsumptionBudgetSubscription(scope, 'Budget', { ...common, subscriptionId: budget.scope.subscriptionId.startsWith('/subscriptions/') ? budget.scope.subscriptionId : `/subscriptions/${budget.scope.subscriptionId}` });
}
