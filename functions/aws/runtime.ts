import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { metricDimensions, METRICS_NAMESPACE } from '../../contract/metrics/run-metrics';
import { RUNTIME_ENV } from '../../contract/config/settings';
import { type AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { OPEN_TOOL_POLICY } from '../../contract/policy/tool-denial';
import { Agent } from '../core/agent/agent';
import type { AuditSink } from '../core/audit/records';
import { NO_EVENTS, type EventPublisher } from '../core/events/events';
import type { JobStore } from '../core/jobs/jobs';
import { providerFactory } from '../core/models/providers';
import { ModelRouter } from '../core/models/router';
import { AgentSkills } from '../core/skills/skills';
import { CachedSkillStore } from '../core/skills/store';
import type { MetricsSink, MetricUnit as CoreUnit, RunMetric } from '../core/telemetry/metrics';
import { FunctionToolTransport } from '../core/tools/function';
import { HttpToolTransport } from '../core/tools/http';
import { McpToolTransport } from '../core/tools/mcp';
import { DynamoJobStore, EventBridgePublisher, LambdaInvoker, S3AuditSink, S3SkillStore, secretsManager } from './adapters';

const ENV = RUNTIME_ENV;

/** One execution environment's agent and the adapters around it, built on the first invocation. */
export interface Runtime {
  readonly config: AgentRuntimeConfig;
  readonly agent: Agent;
  readonly events: EventPublisher;
  readonly jobs?: JobStore;
  readonly stateTable?: string;
  readonly deadLetterQueueUrl?: string;
}

export async function buildRuntime(config: AgentRuntimeConfig, env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  const { definition } = config;
  const httpHosts = definition.tools.flatMap((t) => (t.kind === 'http' ? [new URL(t.url).host] : []));
  const skillsBucket = env[ENV.skillsBucket];
  const skills = await AgentSkills.open(
    new CachedSkillStore(skillsBucket ? new S3SkillStore(skillsBucket) : { read: async () => undefined }),
    definition.skills,
  );
  const bus = env[ENV.bus];
  const events = bus ? new EventBridgePublisher(bus) : NO_EVENTS;
  const auditBucket = env[ENV.auditBucket];
  const audit: AuditSink = auditBucket ? new S3AuditSink(auditBucket) : { write: async () => {} };
  const agent = new Agent(definition, {
    router: new ModelRouter(config.route, providerFactory({ region: env.AWS_REGION ?? 'us-east-1', secret: secretsManager() })),
    skills,
    transports: { http: new HttpToolTransport(httpHosts), function: new FunctionToolTransport(new LambdaInvoker()), mcp: new McpToolTransport() },
    audit,
    metrics: new PowertoolsMetrics(definition.name, definition.cohort),
    prices: config.prices ?? {},
    toolPolicy: config.toolPolicy ?? OPEN_TOOL_POLICY,
    ...(bus && { events }),
  });
  const stateTable = env[ENV.stateTable];
  const deadLetterQueueUrl = env[ENV.deadLetterQueue];
  return {
    config,
    agent,
    events,
    ...(stateTable && { jobs: new DynamoJobStore(stateTable, definition.name), stateTable }),
    ...(deadLetterQueueUrl && { deadLetterQueueUrl }),
  };
}

const UNITS: Record<CoreUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds, None: MetricUnit.NoUnit };

/** Run metrics in CloudWatch embedded metric format, by agent and cohort. */
export class PowertoolsMetrics implements MetricsSink {
  private readonly metrics: Metrics;

  constructor(agent: string, cohort: string) {
    const { service, ...dimensions } = metricDimensions(agent, cohort);
    this.metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service, defaultDimensions: dimensions });
  }

  add(name: RunMetric, unit: CoreUnit, value: number): void {
    this.metrics.addMetric(name, UNITS[unit], value);
  }

  flush(): void {
    this.metrics.publishStoredMetrics();
  }
}
