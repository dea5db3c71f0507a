import { RemovalPolicy, Resource, Stack, type IResource } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { STATE_KEYS, STATE_TABLE } from '../../contract/state/table';
import { AgentNames } from './agent-names';

export interface AgentStateTableProps {
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Where agents keep job status and idempotency records, defined here or in another stack or app. */
export interface IAgentStateTable extends IResource {
  readonly tableName: string;
  readonly tableArn: string;
  /**
   * Lets an agent read and write its own job and idempotency records and its inbox, and no one
   * else's; with `durable`, also what its durable runs keep for themselves.
   */
  grantAgent(grantee: iam.IGrantable, agent: string, options?: { readonly durable?: boolean }): iam.Grant;
  /**
   * Lets `grantee` read and write the job records of `agent`, and nothing else: a durable agent's
   * starter, which records a run it could not start.
   */
  grantJobRecords(grantee: iam.IGrantable, agent: string, options?: { readonly durable?: boolean }): iam.Grant;
  /** Lets `grantee` read job records (the API's job status route). */
  grantReadJobs(grantee: iam.IGrantable): iam.Grant;
  /**
   * Lets `grantee` (an agent that sends `to` tasks) leave inputs in `to`'s inbox, and, with
   * `readJobs`, read `to`'s job records (to await a job it gave it); nothing else of `to`'s.
   */
  grantDelegation(grantee: iam.IGrantable, to: string, options?: { readonly readJobs?: boolean }): iam.Grant;
}

export interface AgentStateTableAttributes {
  /** The table's name; its ARN is formed in the importing stack's account and region. */
  readonly tableName: string;
}

/** What imported and owned tables share: the grants, scoped by key prefix. */
abstract class AgentStateTableBase extends Resource implements IAgentStateTable {
  abstract readonly tableName: string;
  abstract readonly tableArn: string;
  private readonly agents = new AgentNames(this);

  grantAgent(grantee: iam.IGrantable, agent: string, options: { readonly durable?: boolean } = {}): iam.Grant {
    this.agents.claim(agent, grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resourceArns: [this.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${STATE_KEYS.jobPrefix(agent)}*`, `${STATE_KEYS.idempotencyPrefix(agent)}*`, `${STATE_KEYS.inboxPrefix(agent)}*`, ...(options.durable ? [`${STATE_KEYS.durablePrefix(agent)}*`] : [])] } },
    });
  }

  grantJobRecords(grantee: iam.IGrantable, agent: string, options: { readonly durable?: boolean } = {}): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resourceArns: [this.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${STATE_KEYS.jobPrefix(agent)}*`, ...(options.durable ? [`${STATE_KEYS.durablePrefix(agent)}*`] : [])] } },
    });
  }

  grantDelegation(grantee: iam.IGrantable, to: string, options: { readonly readJobs?: boolean } = {}): iam.Grant {
    const inbox = iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem'],
      resourceArns: [this.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${STATE_KEYS.inboxPrefix(to)}*`] } },
    });
    if (!options.readJobs) return inbox;
    return inbox.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['dynamodb:GetItem'],
        resourceArns: [this.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${STATE_KEYS.jobPrefix(to)}*`] } },
      }),
    );
  }

  grantReadJobs(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem'],
      resourceArns: [this.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${STATE_KEYS.jobs}*`] } },
    });
  }
}

/**
 * Where agents keep job status and idempotency records: one table for every agent of a platform,
 * keyed by `id`, each agent allowed only its own key prefixes. Encrypted, point-in-time
 * recoverable, and expiring records by their `expiration` attribute.
 */
export class AgentStateTable extends AgentStateTableBase {
  /** A table defined in another app (or by hand), for agents that keep their state in it. */
  static fromAgentStateTableAttributes(scope: Construct, id: string, attrs: AgentStateTableAttributes): IAgentStateTable {
    class Imported extends AgentStateTableBase {
      readonly tableName = attrs.tableName;
      readonly tableArn = Stack.of(scope).formatArn({ service: 'dynamodb', resource: 'table', resourceName: attrs.tableName });
    }
    return new Imported(scope, id);
  }

  readonly table: dynamodb.TableV2;
  readonly tableName: string;
  readonly tableArn: string;

  constructor(scope: Construct, id: string, props: AgentStateTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: STATE_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: STATE_TABLE.expiration,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.tableName = this.table.tableName;
    this.tableArn = this.table.tableArn;
  }
}
