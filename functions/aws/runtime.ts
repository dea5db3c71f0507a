import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { RUNTIME_ENV } from '../../contract/config/settings';
import { metricDimensions, METRICS_NAMESPACE } from '../../contract/metrics/run-metrics';
import type { MetricsSink, MetricUnit as CoreUnit, RunMetric } from '../core/telemetry/metrics';
import { assembleRuntime, type Runtime } from '../entry/assemble';
import type { AwsPeers } from '../../contract/config/settings';
import { STATE_KEYS } from '../../contract/state/table';
import { recordRetentionSeconds } from '../../contract/jobs/job-record';
import { durableStoreOf, type DurableStore } from '../entry/checkpoints';
import type { AgentDefinition } from '../../contract/definition';
import { awsDelegates, awsProviders, DynamoJobStore, DynamoTaskInbox, EventBridgePublisher, EventBridgeTaskSender, LambdaInvoker, S3AuditSink, S3SkillStore, secretsManager } from './adapters';

const ENV = RUNTIME_ENV;

/** The agent on Lambda, with what the handler needs besides: its state table, and its queue and the queue's receive limit. */
export interface AwsRuntime extends Runtime {
  readonly stateTable?: string;
  readonly maxReceives?: number;
  /** The agent's queue, for agents that take jobs from the API. */
  readonly queueUrl?: string;
}

/** Builds the agent with the AWS adapters the function's environment names; on the first invocation. */
export async function buildRuntime(config: AgentRuntimeConfig, env: NodeJS.ProcessEnv = process.env): Promise<AwsRuntime> {
  const { definition } = config;
  const skillsBucket = env[ENV.skillsBucket];
  const bus = env[ENV.bus];
  const auditBucket = env[ENV.auditBucket];
  const stateTable = env[ENV.stateTable];
  const maxReceives = Number(env[ENV.queueMaxReceives]) || undefined;
  const queueUrl = env[ENV.queueUrl];
  const peersJson = env[ENV.peers];
  const peers = peersJson ? (JSON.parse(peersJson) as AwsPeers) : undefined;
  const invoker = new LambdaInvoker();
  const inbox = stateTable ? new DynamoTaskInbox(stateTable) : undefined;
  const runtime = await assembleRuntime(config, {
    ...(skillsBucket && { skills: new S3SkillStore(skillsBucket) }),
    ...(bus && { events: new EventBridgePublisher(bus) }),
    ...(auditBucket && { audit: new S3AuditSink(auditBucket) }),
    ...(stateTable && agentRecords(stateTable, definition)),
    metrics: new PowertoolsMetrics(definition.name, definition.cohort),
    secret: secretsManager(),
    providers: awsProviders(env.AWS_REGION ?? 'us-east-1', env[ENV.modelProfiles] ? (JSON.parse(env[ENV.modelProfiles]!) as Record<string, string>) : {}),
    cloud: 'aws',
    functions: invoker,
    ...(inbox && { inbox }),
    ...(peers && { delegates: awsDelegates(peers, bus ? new EventBridgeTaskSender(bus) : undefined, stateTable, inbox, invoker) }),
  });
  return { ...runtime, ...(stateTable && { stateTable }), ...(maxReceives && { maxReceives }), ...(queueUrl && { queueUrl }) };
}

/**
 * An agent's own records in the state table: its job records and, for a durable agent, what its runs
 * keep for themselves, both kept as long as its runs may need them. The agent, its starter and its
 * approvals routes all read and write them through this.
 */
export function agentRecords(table: string, definition: AgentDefinition): { readonly jobs: DynamoJobStore; readonly durable?: DurableStore } {
  const retention = recordRetentionSeconds(definition);
  return {
    jobs: new DynamoJobStore(table, definition.name, undefined, retention),
    ...(definition.durable && { durable: durableStoreOf(new DynamoTaskInbox(table, undefined, STATE_KEYS.durable, retention), definition.name) }),
  };
}

const UNITS: Record<CoreUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds, None: MetricUnit.NoUnit };

/**
 * Run metrics in CloudWatch embedded metric format, by agent and cohort, and by cohort alone
 * (cohortDimensions): one line, two dimension sets. Counts and costs are summed until the flush
 * after each run; Powertools would otherwise publish on its own at a metric's 100th value, before
 * the agent's dimension is on the line (a 100-step run adds tokens 100 times).
 */
export class PowertoolsMetrics implements MetricsSink {
  private readonly metrics: Metrics;
  private readonly sums = new Map<RunMetric, { unit: CoreUnit; value: number }>();
  private readonly samples: { name: RunMetric; unit: CoreUnit; value: number }[] = [];

  constructor(
    private readonly agent: string,
    cohort: string,
  ) {
    const { service } = metricDimensions(agent, cohort);
    this.metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service, defaultDimensions: { cohort } });
  }

  add(name: RunMetric, unit: CoreUnit, value: number): void {
    // A duration's distribution (its percentiles) needs each value; a count or a cost, its sum.
    if (unit === 'Milliseconds') this.samples.push({ name, unit, value });
    else this.sums.set(name, { unit, value: (this.sums.get(name)?.value ?? 0) + value });
  }

  flush(): void {
    if (!this.sums.size && !this.samples.length) return;
    // Powertools clears dimensions on each publish: the agent's set and the cohort's (an empty set
    // over the defaults) are added every time.
    this.metrics.addDimension('agent', this.agent).addDimensions({});
    for (const [name, { unit, value }] of this.sums) this.metrics.addMetric(name, UNITS[unit], value);
    for (const { name, unit, value } of this.samples.splice(0)) this.metrics.addMetric(name, UNITS[unit], value);
    this.sums.clear();
    this.metrics.publishStoredMetrics();
  }
}
