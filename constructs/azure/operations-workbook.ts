import { createHash } from 'node:crypto';
import { WORKBOOK_QUERIES } from './operations-queries';

/**
 * The fleet's workbook as Azure Workbooks' JSON (`Notebook/1.0`): one page for every agent, with
 * parameters to pick a time range, cohorts and agents (drawn from the runtime's metrics lines, so
 * agents added later appear without a change here), and tiles read from those lines: runs and
 * failures, latency percentiles, tokens, cost (and what of it no Azure bill shows), fallbacks and
 * failed validations, a table by agent, audit records that missed Log Analytics, and the depth of
 * each agent queue's dead letters from Service Bus's own metric.
 */
export interface OperationsWorkbookOptions {
  /** The Log Analytics workspace the queries run in. */
  readonly workspaceId: string;
  /** The Service Bus namespaces of the agents' queues, whose dead-letter counts it charts by queue (the agent's name). */
  readonly namespaceIds: readonly string[];
}

const DAY_MS = 86_400_000;
const WORKSPACE = 'microsoft.operationalinsights/workspaces';
/** The parameters' names, as the queries spell them in braces. */
export const WORKBOOK_PARAMETERS = ['TimeRange', 'Cohort', 'Agent'] as const;

/** A stable id for a workbook element, from its name: the JSON is the same at every synth. */
const idOf = (name: string) => {
  const h = createHash('sha256').update(`serverless-agents workbook ${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

export function operationsWorkbook(options: OperationsWorkbookOptions): Record<string, unknown> {
  const resources = { queryType: 0, resourceType: WORKSPACE, crossComponentResources: [options.workspaceId] };
  const pick = (name: 'Cohort' | 'Agent', query: string, label: string) => ({
    id: idOf(name),
    version: 'KqlParameterItem/1.0',
    name,
    label,
    type: 2,
    isRequired: true,
    multiSelect: true,
    quote: "'",
    delimiter: ',',
    query,
    typeSettings: { additionalResourceOptions: ['value::all'], selectAllValue: '*', showDefault: false },
    defaultValue: 'value::all',
    timeContext: { durationMs: DAY_MS },
    timeContextFromParameter: 'TimeRange',
    ...resources,
  });
  const tile = (name: string, title: string, query: string, visualization: 'timechart' | 'table', width = '50') => ({
    type: 3,
    name,
    customWidth: width,
    content: { version: 'KqlItem/1.0', title, query, size: 0, visualization, timeContext: { durationMs: DAY_MS }, timeContextFromParameter: 'TimeRange', ...resources },
  });
  const items: unknown[] = [
    { type: 1, name: 'title', content: { json: '## Agents\nEvery agent\'s runs, from the metrics line its runtime writes after each run. Pick cohorts and agents above; the audit records themselves are in the workspace\'s `AgentAudit_CL` table and its saved searches (category "Agent audit").' } },
    {
      type: 9,
      name: 'parameters',
      content: {
        version: 'KqlParameterItem/1.0',
        style: 'pills',
        ...resources,
        parameters: [
          {
            id: idOf('TimeRange'),
            version: 'KqlParameterItem/1.0',
            name: 'TimeRange',
            label: 'Time range',
            type: 4,
            isRequired: true,
            value: { durationMs: DAY_MS },
            typeSettings: { allowCustom: true, selectableValues: [1, 4, 12, 24, 72, 168, 720].map((hours) => ({ durationMs: hours * 3_600_000 })) },
          },
          pick('Cohort', WORKBOOK_QUERIES.cohorts, 'Cohorts'),
          pick('Agent', WORKBOOK_QUERIES.agents, 'Agents'),
        ],
      },
    },
    tile('runs', 'Runs and runs that failed', WORKBOOK_QUERIES.runs, 'timechart'),
    tile('latency', 'Run latency percentiles (ms)', WORKBOOK_QUERIES.latency, 'timechart'),
    tile('tokens', 'Tokens', WORKBOOK_QUERIES.tokens, 'timechart'),
    tile('cost', 'Cost (USD, by the router\'s prices), and what of it no Azure bill shows', WORKBOOK_QUERIES.cost, 'timechart'),
    tile('fallbacks', 'Model fallbacks, failed validations and denied tools', WORKBOOK_QUERIES.fallbacks, 'timechart'),
    tile('audit-ingestion', 'Audit records kept in Blob storage that did not reach Log Analytics', WORKBOOK_QUERIES.auditIngestion, 'table'),
    tile('by-agent', 'By agent', WORKBOOK_QUERIES.byAgent, 'table', '100'),
  ];
  if (options.namespaceIds.length) {
    items.push({
      type: 10,
      name: 'dead-letters',
      customWidth: '100',
      content: {
        chartId: `workbook${idOf('dead-letters')}`,
        version: 'MetricsItem/2.0',
        title: 'Dead-lettered messages by agent queue (each queue is named after its agent)',
        size: 0,
        chartType: 2,
        resourceType: 'microsoft.servicebus/namespaces',
        metricScope: 0,
        resourceIds: [...options.namespaceIds],
        timeContext: { durationMs: DAY_MS },
        timeContextFromParameter: 'TimeRange',
        // Maximum: the depth of the dead-letter queue, not a sum of samples.
        metrics: [{ namespace: 'microsoft.servicebus/namespaces', metric: 'microsoft.servicebus/namespaces--DeadletteredMessages', aggregation: 3, splitBy: 'EntityName', splitBySortOrder: -1, splitByLimit: 25 }],
        gridSettings: { rowLimit: 10000 },
      },
    });
  }
  return { version: 'Notebook/1.0', items, fallbackResourceIds: [options.workspaceId], $schema: 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json' };
}
