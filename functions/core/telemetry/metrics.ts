import type { RunMetric } from '../../../contract/metrics/run-metrics';

/**
 * Where run metrics go: CloudWatch embedded metric format on AWS (through Powertools), a log line
 * on Azure. Every metric carries the agent and cohort as dimensions (contract/metrics).
 */
export type MetricUnit = 'Count' | 'Milliseconds' | 'None';

export interface MetricsSink {
  add(name: RunMetric, unit: MetricUnit, value: number): void;
  /** Writes what was added, once per run. */
  flush(): void;
}

export type { RunMetric };

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
