/**
 * Where run metrics go: CloudWatch embedded metric format on AWS (through Powertools). Every
 * metric carries the agent and cohort as dimensions.
 */
export type MetricUnit = 'Count' | 'Milliseconds' | 'None';

export interface MetricsSink {
  add(name: RunMetric, unit: MetricUnit, value: number): void;
  /** Writes what was added, once per run. */
  flush(): void;
}

export type RunMetric =
  | 'Runs'
  | 'RunFailures'
  | 'RunLatency'
  | 'InputTokens'
  | 'OutputTokens'
  | 'CacheReadTokens'
  | 'CacheWriteTokens'
  | 'CostUsd'
  | 'ToolCalls'
  | 'ToolFailures'
  | 'ToolDenials'
  | 'SkillActivations'
  | 'Refusals'
  | 'ModelFallbacks';

/** Keeps metrics in memory: for tests and local runs. */
export class MemoryMetrics implements MetricsSink {
  readonly values: { name: RunMetric; unit: MetricUnit; value: number }[] = [];
  flushes = 0;

  add(name: RunMetric, unit: MetricUnit, value: number): void {
    this.values.push({ name, unit, value });
  }

  flush(): void {
    this.flushes += 1;
  }

  sum(name: RunMetric): number {
    return this.values.filter((v) => v.name === name).reduce((n, v) => n + v.value, 0);
  }
}
