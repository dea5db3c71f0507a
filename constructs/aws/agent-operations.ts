import { ArnFormat, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AgentDefinition } from '../../contract/definition/define';
import type { IAuditBucket } from './audit-bucket';
import { AuditQueries } from './audit-queries';
import { CohortBudgets } from './cohort-budgets';
import { FleetDashboard } from './fleet-dashboard';

export interface AgentOperationsProps {
  /** The agents operated: the audit table's agents, the dashboard's first agent and the cohorts alarmed on. */
  readonly agents: readonly AgentDefinition[];
  /** Where their audit records land. */
  readonly audit: IAuditBucket;
  /**
   * Dead-letter queues whose depth the dashboard shows.
   * @default none
   */
  readonly deadLetterQueues?: readonly sqs.IQueue[];
  /**
   * Each cohort's monthly budget in USD (AWS Budgets on the `cohort` cost allocation tag).
   * Budgets cover the whole account: give them in one stack per account.
   * @default no budgets
   */
  readonly monthlyBudgetUsd?: Readonly<Record<string, number>>;
  /**
   * The USD an hour a cohort may spend on model providers outside the cloud's bill before its
   * alarm fires: one figure, or one per cohort.
   * @default DEFAULT_MAX_EXTERNAL_COST_PER_HOUR (10) for every cohort
   */
  readonly maxExternalCostPerHour?: number | Readonly<Record<string, number>>;
  /**
   * Failure rates over which a cohort's alarm fires.
   * @default 0.05 each
   */
  readonly maxRunFailureRate?: number;
  readonly maxValidationFailureRate?: number;
  /**
   * The most one audit query may scan.
   * @default Size.gibibytes(10)
   */
  readonly scanLimit?: Size;
  /**
   * Dashboards are named once per account, across regions.
   * @default the stack's name and region
   */
  readonly dashboardName?: string;
  /**
   * The topic alarms and budgets notify. One of your own must let CloudWatch alarms and AWS
   * Budgets publish (and use its key), in its topic policy if it has one (a topic policy replaces
   * SNS's default): `AgentOperations.notificationTopic` makes one that does.
   * @default a new one, as `notificationTopic` makes it
   */
  readonly topic?: sns.ITopic;
  /** @default RemovalPolicy.RETAIN for what holds data (query results and their key) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The operations layer in one line: the audit made queryable (AuditQueries), one fleet dashboard
 * with per-cohort composite alarms (FleetDashboard), budgets per cohort (CohortBudgets), and the
 * encrypted topic all of them notify, which a team subscribes to (`topic.addSubscription`, with a
 * dead-letter queue for the subscription, as the Serverless rule pack asks). Its resources grow with the
 * cohorts, never with the agents.
 */
export class AgentOperations extends Construct {
  /**
   * A topic alarms and budgets can notify: encrypted with a key of its own that CloudWatch and
   * AWS Budgets may use, TLS-only, and publishable by this account's alarms and budgets.
   */
  static notificationTopic(scope: Construct, id: string, props: { readonly displayName: string; readonly removalPolicy?: RemovalPolicy }): sns.Topic {
    const stack = Stack.of(scope);
    const key = new kms.Key(scope, `${id}Key`, { description: `Encrypts ${props.displayName}`, enableKeyRotation: true, removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN });
    // Both services encrypt what they publish with the topic's key. CloudWatch says which account
    // its alarm is in; AWS Budgets' documented key statement has no condition, and its publishing
    // is held to this account by the topic policy below.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy, "*" is this key
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    key.addToResourcePolicy(new iam.PolicyStatement({ principals: [new iam.ServicePrincipal('budgets.amazonaws.com')], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'] }));
    const topic = new sns.Topic(scope, id, { displayName: props.displayName, masterKey: key, enforceSSL: true });
    // A topic policy replaces SNS's default one, which let the account's alarms publish: each
    // publisher is named again, held to this account.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
      }),
    );
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    return topic;
  }

  readonly topic: sns.ITopic;
  readonly queries: AuditQueries;
  readonly dashboard: FleetDashboard;
  readonly budgets?: CohortBudgets;

  constructor(scope: Construct, id: string, props: AgentOperationsProps) {
    super(scope, id);
    const [first] = props.agents;
    if (!first) throw new Error(`AgentOperations ${this.node.path}: agents must name at least one agent`);
    const cohorts = [...new Set(props.agents.map((a) => a.cohort))];
    for (const cohort of Object.keys(props.monthlyBudgetUsd ?? {})) {
      if (!cohorts.includes(cohort)) throw new Error(`AgentOperations ${this.node.path}: monthlyBudgetUsd.${cohort}: no agent is of that cohort (${cohorts.join(', ')})`);
    }
    this.topic = props.topic ?? AgentOperations.notificationTopic(this, 'Topic', { displayName: 'Agents: alarms and budgets', ...(props.removalPolicy && { removalPolicy: props.removalPolicy }) });
    this.queries = new AuditQueries(this, 'Audit', { audit: props.audit, agents: props.agents, ...(props.scanLimit && { scanLimit: props.scanLimit }), ...(props.removalPolicy && { removalPolicy: props.removalPolicy }) });
    this.dashboard = new FleetDashboard(this, 'Dashboard', {
      cohorts,
      firstAgent: first,
      ...(props.dashboardName && { dashboardName: props.dashboardName }),
      alarmAction: new cloudwatchActions.SnsAction(this.topic),
      ...(props.deadLetterQueues && { deadLetterQueues: props.deadLetterQueues }),
      ...(props.maxExternalCostPerHour !== undefined && { maxExternalCostPerHour: props.maxExternalCostPerHour }),
      ...(props.maxRunFailureRate !== undefined && { maxRunFailureRate: props.maxRunFailureRate }),
      ...(props.maxValidationFailureRate !== undefined && { maxValidationFailureRate: props.maxValidationFailureRate }),
    });
    if (props.monthlyBudgetUsd && Object.keys(props.monthlyBudgetUsd).length) this.budgets = new CohortBudgets(this, 'Budgets', { monthlyUsd: props.monthlyBudgetUsd, topic: this.topic });
  }
}
