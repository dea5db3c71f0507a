import { createHash } from 'node:crypto';
import { Stack, Token } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { COHORT_TAG } from './model-router';

export interface CohortBudgetsProps {
  /** Each cohort's monthly budget in USD. */
  readonly monthlyUsd: Readonly<Record<string, number>>;
  /** Where the budgets' alerts go: the topic must let AWS Budgets publish (AgentOperations' does). */
  readonly topic: sns.ITopic;
  /**
   * The share of the budget actually spent at which the first alert goes.
   * @default 0.8
   */
  readonly actualAlertAt?: number;
  /**
   * The share of the budget the month's forecast may reach before an alert goes.
   * @default 1
   */
  readonly forecastAlertAt?: number;
}

/**
 * An AWS Budgets cost budget per cohort, over everything tagged with the cohort (its agents'
 * functions, queues and logs, and its Bedrock calls through the router's application inference
 * profiles), alerting on spend and on the month's forecast. The tag counts only once it is
 * activated as a cost allocation tag in the payer account (docs/operations.md says how). Budgets
 * cover the whole account, all regions: declare them in one stack per account. The definition's
 * run budget stays the hard stop inside each run.
 */
export class CohortBudgets extends Construct {
  /** Each cohort's budget, by cohort. */
  readonly budgets: Readonly<Record<string, budgets.CfnBudget>>;

  constructor(scope: Construct, id: string, props: CohortBudgetsProps) {
    super(scope, id);
    const where = `CohortBudgets ${this.node.path}`;
    const actual = props.actualAlertAt ?? 0.8;
    const forecast = props.forecastAlertAt ?? 1;
    for (const [field, share] of [['actualAlertAt', actual], ['forecastAlertAt', forecast]] as const) {
      if (!(share > 0 && share <= 10)) throw new Error(`${where}: ${field} must be a share of the budget above 0 (1 = all of it), got ${share}`);
    }
    const subscribers = [{ subscriptionType: 'SNS', address: props.topic.topicArn }];
    this.budgets = Object.fromEntries(
      Object.entries(props.monthlyUsd).map(([cohort, usd]) => {
        if (!(usd > 0)) throw new Error(`${where}: monthlyUsd.${cohort} must be more than 0, got ${usd}`);
        const budget = new budgets.CfnBudget(this, `Budget-${cohort}`, {
          budget: {
            budgetName: budgetName(Stack.of(this), cohort),
            budgetType: 'COST',
            timeUnit: 'MONTHLY',
            budgetLimit: { amount: usd, unit: 'USD' },
            // A user-defined cost allocation tag, as Budgets names it: `user:<key>$<value>`.
            costFilters: { TagKeyValue: [`user:${COHORT_TAG}$${cohort}`] },
          },
          notificationsWithSubscribers: [
            { notification: { notificationType: 'ACTUAL', comparisonOperator: 'GREATER_THAN', threshold: actual * 100, thresholdType: 'PERCENTAGE' }, subscribers },
            { notification: { notificationType: 'FORECASTED', comparisonOperator: 'GREATER_THAN', threshold: forecast * 100, thresholdType: 'PERCENTAGE' }, subscribers },
          ],
        });
        return [cohort, budget];
      }),
    );
  }
}

/**
 * Budget names are unique in the account, across regions: the stack's name and region keep
 * environments apart, and a digest keeps a name cut to Budgets' 100 characters unique.
 */
function budgetName(stack: Stack, cohort: string): string {
  const name = `${stack.stackName}-${stack.region}-${cohort}`;
  if (Token.isUnresolved(stack.region) || name.length <= 100) return name;
  return `${name.slice(0, 89)}-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}
