import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Construct } from 'constructs';
import { AzureAgentFleet } from '../../constructs/azure/agent-fleet';
import { AzureAgentFunction } from '../../constructs/azure/agent-function';
import { AzureAgentOperations, type AzureAgentOperationsProps } from '../../constructs/azure/agent-operations';
import { AzureAgentQueue, AzureServiceBus } from '../../constructs/azure/agent-queue';
import { AzureAuditLogs } from '../../constructs/azure/audit-logs';
import { COHORT_TAG } from '../../constructs/azure/cohort-tags';
import { App, AzurermProvider, ServicePlan, Testing, TerraformStack } from '../../constructs/azure/engine';
import { AzureModelRouter } from '../../constructs/azure/model-router';
import { AzureObservability } from '../../constructs/azure/observability';
import { WORKBOOK_PARAMETERS } from '../../constructs/azure/operations-workbook';
import { AzureRuntimePackage } from '../../constructs/azure/runtime-package';
import { AzureSecrets } from '../../constructs/azure/secrets';
import { ACKNOWLEDGMENTS_KEY, secureDefaultFindings, type SynthesizedStack } from '../../constructs/azure/secure-defaults';
import { AUDIT_LOGS_TABLE, AUDIT_LOGS_TABLE_COLUMNS } from '../../contract/audit/log-analytics';
import { AZURE_RUNTIME_ENV } from '../../contract/config/settings';
import { FLEET_LOCK_CONTEXT } from '../../contract/fleet/lock';
import { fleetAgents } from '../../stacks/fleet/fleet-agents';
import { agentInput, SKILLS } from '../helpers';
import { AZURE_ROUTER, azureContainerAgent, type Resources } from '../__fixtures__/azure-synth';
import { AGENT_LOG_TABLES, KustoDatabase } from '../__fixtures__/kusto';

const LOCATION = { resourceGroupName: 'agents', location: 'westeurope' };
const COHORTS = ['support', 'billing', 'triage'];
const workspace = new KustoDatabase([{ name: AUDIT_LOGS_TABLE, columns: AUDIT_LOGS_TABLE_COLUMNS }, ...AGENT_LOG_TABLES]);

/** `count` queued function agents on one plan, their cohorts in turn, and the operations layer over them. */
function fleet(scope: Construct, count: number, props: Partial<AzureAgentOperationsProps> = {}) {
  const observability = new AzureObservability(scope, 'Observability', { name: 'agents', ...LOCATION });
  const router = new AzureModelRouter(scope, 'Models', { models: AZURE_ROUTER, secrets: new AzureSecrets(scope, 'Secrets', { name: 'agents-vault', ...LOCATION }) });
  const runtime = new AzureRuntimePackage(scope, 'Runtime', LOCATION);
  const bus = new AzureServiceBus(scope, 'Bus', { name: 'agents-bus', ...LOCATION });
  const plan = new ServicePlan(scope, 'Plan', { name: 'agents-plan', ...LOCATION, osType: 'Linux', skuName: 'Y1' });
  const agents = Array.from({ length: count }, (_, i) => {
    const name = `agent-${i + 1}`;
    return new AzureAgentFunction(scope, `Agent-${name}`, {
      agent: agentInput({ name, cohort: COHORTS[i % COHORTS.length]!, triggers: [{ type: 'queue' }] }),
      ...LOCATION,
      plan,
      runtime,
      observability,
      router,
      queue: new AzureAgentQueue(scope, `Queue-${name}`, { bus, agent: name, timeoutSeconds: 120 }),
    });
  });
  const operations = new AzureAgentOperations(scope, 'Operations', {
    observability,
    agents,
    budgets: { support: 300, billing: 150 },
    notify: { emails: ['oncall@example.com'], webhooks: ['https://hooks.example.com/agents'] },
    ...props,
  });
  return { operations, agents, observability };
}

const synth = (build: (scope: Construct) => void): Resources => (JSON.parse(Testing.synthScope(build)) as { resource: Resources }).resource;
/** The resources under the construct `id` of the scope (logical ids start with its path, `_` for `/`), as `type` → count. */
function countsUnder(resources: Resources, id: string, except: (type: string, r: Record<string, any>) => boolean = () => false): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [type, all] of Object.entries(resources)) {
    for (const [key, r] of Object.entries(all)) if (key.startsWith(`${id}_`) && !except(type, r)) counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}
const of = (resources: Resources, type: string) => Object.values(resources[type] ?? {});
/** Resources of `type` with their logical ids. */
const keyed = (resources: Resources, type: string) => Object.entries(resources[type] ?? {});
const ACTION_GROUP = /^\$\{azurerm_monitor_action_group\.Operations_ActionGroup_\w+\.id\}$/;

describe('AzureAgentOperations', () => {
  const three = synth((scope) => void fleet(scope, 3));
  const thirty = synth((scope) => void fleet(scope, 30));

  it('declares as many resources for 30 agents as for 3: they grow with cohorts, never with agents', () => {
    // Each agent's identity holds its own role on the rule: beside its other roles, not the layer's.
    const ingestRole = (type: string, r: Record<string, any>) => type === 'azurerm_role_assignment' && r.role_definition_name === 'Monitoring Metrics Publisher';
    const counts = countsUnder(three, 'Operations', ingestRole);
    assert.deepEqual(countsUnder(thirty, 'Operations', ingestRole), counts);
    assert.deepEqual(counts, {
      azurerm_application_insights_workbook: 1,
      azurerm_consumption_budget_resource_group: 2,
      azurerm_log_analytics_saved_search: 8,
      azurerm_log_analytics_workspace_table_custom_log: 1,
      azurerm_monitor_action_group: 1,
      azurerm_monitor_data_collection_endpoint: 1,
      azurerm_monitor_data_collection_rule: 1,
      azurerm_monitor_diagnostic_setting: 1,
      // Four per cohort; records that missed the table, rows the rule could not write.
      azurerm_monitor_scheduled_query_rules_alert_v2: 4 * COHORTS.length + 2,
    });
    assert.equal(Object.values(countsUnder(thirty, 'Operations')).reduce((a, b) => a + b, 0), 30 + 30);
  });

  it('has one action group that emails and posts, in the common alert schema', () => {
    const [group] = of(three, 'azurerm_monitor_action_group');
    assert.deepEqual(group!.email_receiver, [{ name: 'email-1', email_address: 'oncall@example.com', use_common_alert_schema: true }]);
    assert.deepEqual(group!.webhook_receiver, [{ name: 'webhook-1', service_uri: 'https://hooks.example.com/agents', use_common_alert_schema: true }]);
    assert.ok(group!.short_name.length <= 12);
  });

  it('alerts per cohort on failed runs, failed validations, spend per hour and spend outside Azure\'s bill, all to the action group', () => {
    const rules = keyed(three, 'azurerm_monitor_scheduled_query_rules_alert_v2').filter(([key]) => key.startsWith('Operations_'));
    for (const [, rule] of rules) {
      assert.deepEqual(rule.action.action_groups.map(String).map((id: string) => ACTION_GROUP.test(id)), [true], rule.name);
      assert.match(rule.scopes[0], /azurerm_log_analytics_workspace\.Observability_Workspace_\w+\.id/);
      assert.deepEqual(workspace.analyze(rule.criteria[0].query).errors, [], rule.name);
      // Stateful: one notification when it fires, one when it resolves, whatever the windows' overlap.
      assert.equal(rule.auto_mitigation_enabled, true, rule.name);
    }
    const support: Record<string, Record<string, any>> = Object.fromEntries(rules.filter(([key]) => key.startsWith('Operations_Cohort-support_')).map(([, r]) => [r.name.replace(/^.*-support-/, ''), r]));
    assert.deepEqual(Object.keys(support).sort(), ['cost-per-hour', 'external-cost-per-day', 'failed-runs', 'validation-failures']);
    const criteria = (name: string) => support[name]!.criteria[0];
    assert.deepEqual([criteria('failed-runs').time_aggregation_method, criteria('failed-runs').metric_measure_column, criteria('failed-runs').threshold, support['failed-runs']!.window_duration], ['Average', 'failed', 0.1, 'PT15M']);
    assert.deepEqual([criteria('validation-failures').time_aggregation_method, criteria('validation-failures').threshold], ['Total', 0]);
    // A day's share of the cohort's 300 budget, in an hour, and outside Azure's bill in a day.
    assert.deepEqual([criteria('cost-per-hour').threshold, support['cost-per-hour']!.window_duration], [10, 'PT1H']);
    assert.deepEqual([criteria('external-cost-per-day').threshold, support['external-cost-per-day']!.window_duration], [10, 'P1D']);
    assert.match(criteria('external-cost-per-day').query, /m\.ExternalCostUsd\.value/);
    assert.match(criteria('cost-per-hour').query, /m\.CostUsd\.value/);
    for (const rule of Object.values(support)) assert.match(rule.criteria[0].query, /\| where cohort == "support"/);
    // A cohort without a budget gets the spend alerts' own threshold.
    const [, research] = rules.find(([, r]) => r.name.endsWith('-triage-cost-per-hour'))!;
    assert.equal(research.criteria[0].threshold, 10);
    const [, ingestion] = rules.find(([, r]) => r.name.endsWith('-audit-ingestion'))!;
    assert.deepEqual([ingestion.criteria[0].metric_measure_column, ingestion.criteria[0].threshold, ingestion.window_duration, ingestion.evaluation_frequency], ['records', 0, 'PT30M', 'PT15M']);
  });

  it('budgets each cohort given a budget, over the resources tagged with it, at 80% spent and 100% forecast', () => {
    const budgets = of(three, 'azurerm_consumption_budget_resource_group');
    assert.deepEqual(budgets.map((b) => [b.filter.tag[0].values[0], b.amount]).sort(), [['billing', 150], ['support', 300]]);
    for (const budget of budgets) {
      assert.deepEqual(budget.filter.tag, [{ name: COHORT_TAG, operator: 'In', values: [budget.filter.tag[0].values[0]] }]);
      assert.deepEqual(budget.notification.map((n: any) => [n.threshold, n.threshold_type, n.operator, n.enabled]), [[80, 'Actual', 'GreaterThanOrEqualTo', true], [100, 'Forecasted', 'GreaterThanOrEqualTo', true]]);
      for (const n of budget.notification) assert.match(n.contact_groups[0], ACTION_GROUP);
      assert.equal(budget.time_grain, 'Monthly');
      assert.equal(budget.resource_group_id, '/subscriptions/${data.azurerm_client_config.Deployer.subscription_id}/resourceGroups/agents');
      assert.match(budget.time_period.start_date, /formatdate\("YYYY-MM-01'T'00:00:00Z", timestamp\(\)\)/);
      assert.deepEqual(budget.lifecycle.ignore_changes, ['time_period']);
    }
    const subscription = synth((scope) => void fleet(scope, 3, { budgetScope: { subscriptionId: '00000000-0000-0000-0000-000000000001' } }));
    assert.deepEqual(of(subscription, 'azurerm_consumption_budget_subscription').map((b) => b.subscription_id), ['/subscriptions/00000000-0000-0000-0000-000000000001', '/subscriptions/00000000-0000-0000-0000-000000000001']);
  });

  it('tags what each agent alone is billed for with its cohort, and a plan it shares with other cohorts with none', () => {
    for (const type of ['azurerm_linux_function_app', 'azurerm_storage_account', 'azurerm_user_assigned_identity']) {
      const agents = keyed(three, type).filter(([key]) => key.startsWith('Agent-'));
      assert.ok(agents.length >= 3, type);
      for (const [key, r] of agents) assert.equal(r.tags?.[COHORT_TAG], COHORTS[Number(/^Agent-agent-(\d+)_/.exec(key)![1]) - 1], `${type} ${key}`);
    }
    assert.equal(of(three, 'azurerm_service_plan')[0]!.tags?.[COHORT_TAG], undefined);
    const alone = synth((scope) => void fleet(scope, 1));
    assert.equal(of(alone, 'azurerm_service_plan')[0]!.tags[COHORT_TAG], 'support');
  });

  it('sends every agent\'s audit records to the table: its settings name the rule, its identity publishes to the rule alone, its app waits for that', () => {
    const apps = of(thirty, 'azurerm_linux_function_app');
    assert.equal(apps.length, 30);
    for (const app of apps) {
      assert.match(app.app_settings[AZURE_RUNTIME_ENV.auditLogsEndpoint], /^\$\{azurerm_monitor_data_collection_endpoint\.\w+\.logs_ingestion_endpoint\}$/);
      assert.match(app.app_settings[AZURE_RUNTIME_ENV.auditLogsRuleId], /^\$\{azurerm_monitor_data_collection_rule\.\w+\.immutable_id\}$/);
    }
    const publishers = of(thirty, 'azurerm_role_assignment').filter((a) => a.role_definition_name === 'Monitoring Metrics Publisher' && /data_collection_rule/.test(a.scope));
    assert.equal(publishers.length, 30);
    for (const a of publishers) assert.match(a.scope, /^\$\{azurerm_monitor_data_collection_rule\.Operations_AuditLogs_Rule_\w+\.id\}$/);
    const waits = keyed(thirty, 'time_sleep').filter(([key]) => /^Agent-agent-\d+_RolesPropagated_/.test(key));
    assert.equal(waits.length, 30);
    for (const [, wait] of waits) assert.ok(Object.keys(wait.triggers).some((k) => k.startsWith('Operations/AuditLogs/Ingester-')), 'each app waits for its role on the rule');
  });

  it('has one workbook with time range, cohort and agent parameters, its tiles drawn from the metrics lines, and each queue\'s dead letters', () => {
    const [book] = of(thirty, 'azurerm_application_insights_workbook');
    assert.match(book!.name, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(book!.source_id, /^\$\{lower\(azurerm_log_analytics_workspace\.\w+\.id\)\}$/);
    const data = JSON.parse(book!.data_json);
    assert.equal(data.version, 'Notebook/1.0');
    const parameters = data.items.find((i: any) => i.type === 9).content.parameters;
    assert.deepEqual(parameters.map((p: any) => p.name), [...WORKBOOK_PARAMETERS]);
    assert.deepEqual(parameters.slice(1).map((p: any) => [p.multiSelect, p.typeSettings.selectAllValue, p.defaultValue]), [[true, '*', 'value::all'], [true, '*', 'value::all']]);
    const queries = [...parameters.filter((p: any) => p.query).map((p: any) => p.query), ...data.items.filter((i: any) => i.type === 3).map((i: any) => i.content.query)];
    assert.equal(queries.length, 2 + 7, 'not a tile per agent');
    for (const query of queries) {
      assert.match(query, /^union isfuzzy=true \(AppTraces/);
      for (const picked of ["'*'", "'support','billing'"]) {
        const filled = query.replaceAll('{TimeRange:grain}', '1h').replaceAll('{TimeRange}', '> ago(1d)').replaceAll('{Cohort}', picked).replaceAll('{Agent}', picked);
        assert.deepEqual(workspace.analyze(filled).errors, [], query);
      }
    }
    const titles = data.items.filter((i: any) => i.type === 3).map((i: any) => i.content.query).join('\n');
    for (const metric of ['Runs', 'RunFailures', 'RunLatency', 'InputTokens', 'OutputTokens', 'CostUsd', 'ExternalCostUsd', 'ModelFallbacks', 'ValidationFailures']) assert.match(titles, new RegExp(`m\\.${metric}\\b`), metric);
    const deadLetters = data.items.find((i: any) => i.type === 10).content;
    assert.deepEqual(deadLetters.resourceIds.map((id: string) => /azurerm_servicebus_namespace\.Bus_Namespace_\w+\.id/.test(id)), [true]);
    assert.deepEqual([deadLetters.metrics[0].metric, deadLetters.metrics[0].splitBy], ['microsoft.servicebus/namespaces--DeadletteredMessages', 'EntityName']);
    assert.equal(JSON.stringify(data).includes('agent-7'), false, 'no agent is named in the workbook: it finds them in the data');
  });

  it('passes the Azure secure-default checks, with nothing acknowledged', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'ops');
    new AzurermProvider(stack, 'Azure', { features: [{}], storageUseAzuread: true });
    fleet(stack, 3);
    Testing.synth(stack, true);
    const out = stack.toTerraform() as SynthesizedStack & Record<string, any>;
    assert.deepEqual(secureDefaultFindings(out), []);
    assert.equal(out['//']?.[ACKNOWLEDGMENTS_KEY], undefined);
  });

  it('refuses a budget for a cohort none of its agents has, at synth, naming the construct', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'ops');
    new AzurermProvider(stack, 'Azure', { features: [{}], storageUseAzuread: true });
    fleet(stack, 2, { budgets: { support: 100, suport: 50 } });
    assert.throws(() => Testing.synth(stack, true), /AzureAgentOperations ops\/Operations: budgets name cohort suport, which no agent it watches has \(its agents' cohorts: support, billing\)/);
  });

  it('refuses thresholds and receivers that cannot work, naming each', () => {
    assert.throws(
      () => synth((scope) => void fleet(scope, 1, { budgets: { support: 0 }, alerts: { failedRunRate: 1.5, validationFailures: -1, costPerHourUsd: { support: 0 } }, notify: { webhooks: ['http://hooks.example.com'], emails: ['oncall'] } })),
      (e: Error) =>
        [/budgets\.support: must be an amount of at least 1/, /alerts\.failedRunRate: must be a share of runs from 0 up to, not including, 1; got 1\.5/, /alerts\.validationFailures/, /alerts\.costPerHourUsd\.support/, /notify\.webhooks: http:\/\/hooks\.example\.com is not an https URL/, /notify\.emails: oncall/].every((re) => re.test(e.message)),
    );
  });

  it('takes audit logs built before the agents, and agents built with them, granting each once', () => {
    const resources = synth((scope) => {
      const observability = new AzureObservability(scope, 'Telemetry', { name: 'agents', ...LOCATION });
      const auditLogs = new AzureAuditLogs(scope, 'AuditLogs', { observability });
      const agent = azureContainerAgent(scope, { agent: agentInput({ placement: 'container', triggers: [{ type: 'queue' }] }), observability, auditLogs });
      new AzureAgentOperations(scope, 'Operations', { observability, auditLogs, agents: [agent] });
    });
    assert.equal(of(resources, 'azurerm_monitor_data_collection_rule').length, 1);
    assert.equal(of(resources, 'azurerm_role_assignment').filter((a) => a.role_definition_name === 'Monitoring Metrics Publisher' && /data_collection_rule/.test(a.scope)).length, 1);
    const env = of(resources, 'azurerm_container_app')[0]!.template.container[0].env as { name: string }[];
    assert.equal(env.filter((e) => e.name === AZURE_RUNTIME_ENV.auditLogsRuleId).length, 1);
  });

  it('sends a container agent built before it there too, through its environment', () => {
    const resources = synth((scope) => {
      const agent = azureContainerAgent(scope, { agent: agentInput({ placement: 'container', triggers: [{ type: 'queue' }] }) });
      new AzureAgentOperations(scope, 'Operations', { observability: scope.node.findChild('Observability') as AzureObservability, agents: [agent] });
    });
    const app = of(resources, 'azurerm_container_app')[0]!;
    const env = Object.fromEntries((app.template.container[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    assert.match(env[AZURE_RUNTIME_ENV.auditLogsEndpoint]!, /logs_ingestion_endpoint/);
    assert.match(env[AZURE_RUNTIME_ENV.auditLogsRuleId]!, /immutable_id/);
    assert.equal(app.tags[COHORT_TAG], 'default');
  });

  it('leaves the records in Blob storage only when told, with no table and no alert on its ingestion', () => {
    const resources = synth((scope) => void fleet(scope, 3, { auditLogs: false }));
    assert.equal(of(resources, 'azurerm_log_analytics_workspace_table_custom_log').length, 0);
    assert.equal(of(resources, 'azurerm_linux_function_app')[0]!.app_settings[AZURE_RUNTIME_ENV.auditLogsRuleId], undefined);
    assert.equal(of(resources, 'azurerm_monitor_scheduled_query_rules_alert_v2').filter((r) => r.name.endsWith('-audit-ingestion')).length, 0);
  });
});

describe('AzureAgentFleet with the operations layer', () => {
  /** A fleet of `count` agents, synthesized; its stacks by name. */
  function synthFleet(count: number): Record<string, { resource: Resources }> {
    const outdir = mkdtempSync(join(tmpdir(), 'azure-fleet-ops-'));
    const app = new App({ outdir, context: { [FLEET_LOCK_CONTEXT]: 'update' } });
    new AzureAgentFleet(app, 'fleet', { agents: fleetAgents(count), models: { ...AZURE_ROUTER, cohorts: {} }, skillsPath: SKILLS, lockFile: join(outdir, 'fleet.lock.json'), location: 'westeurope', operations: { budgets: { support: 500 }, notify: { emails: ['oncall@example.com'] } } });
    app.synth();
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { synthesizedStackPath: string }> };
    return Object.fromEntries(Object.entries(manifest.stacks).map(([name, s]) => [name, JSON.parse(readFileSync(join(outdir, s.synthesizedStackPath), 'utf8'))]));
  }

  it('keeps the platform stack the same for 3 agents as for 30, the layer included, and gives each shard one role on the audit rule', () => {
    const three = synthFleet(3);
    const thirty = synthFleet(30);
    const platform = three['fleet-platform']!.resource;
    assert.deepEqual(thirty['fleet-platform']!.resource, platform);
    assert.equal(of(platform, 'azurerm_application_insights_workbook').length, 1);
    assert.equal(of(platform, 'azurerm_monitor_action_group').length, 1, 'the layer\'s action group is the fleet\'s');
    assert.equal(of(platform, 'azurerm_consumption_budget_resource_group')[0]!.resource_group_id, '${azurerm_resource_group.Group.id}');
    for (const fleet of [three, thirty]) {
      const shard = fleet['fleet-agents-01']!.resource;
      const publishers = of(shard, 'azurerm_role_assignment').filter((a) => a.role_definition_name === 'Monitoring Metrics Publisher' && /data_collection_rule/.test(a.scope));
      assert.equal(publishers.length, 1);
      assert.equal(publishers[0]!.principal_type, 'Group');
      for (const app of of(shard, 'azurerm_linux_function_app')) assert.match(app.app_settings[AZURE_RUNTIME_ENV.auditLogsRuleId], /terraform_remote_state|immutable_id/);
    }
  });
});
