import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AzureContainerEnvironment, RUNTIME_IMAGE_REPOSITORY } from '../../constructs/azure/container-environment';
import { SCALE_RULE_IDENTITY_AZURERM } from '../../constructs/azure/agent-container';
import { AzureObservability, failedRunsQuery } from '../../constructs/azure/observability';
import { secureDefaultFindings, type SynthesizedStack } from '../../constructs/azure/secure-defaults';
import { Testing } from '../../constructs/azure/engine';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import { containerContextDir } from '../../constructs/bundle/container-image';
import { agentInput } from '../helpers';
import { azureAgent, azureContainerAgent, single, type Resources } from '../__fixtures__/azure-synth';

type Synthesized = SynthesizedStack & { terraform: { required_providers: Record<string, { source: string; version: string }> }; resource: Resources };

const research = agentInput({ placement: 'container', skills: ['ticket-triage'], triggers: [{ type: 'queue' }], limits: { timeoutSeconds: 3600 } });
const synth = (props: Partial<Parameters<typeof azureContainerAgent>[1]> = {}): Synthesized =>
  JSON.parse(Testing.synthScope((scope) => azureContainerAgent(scope, { agent: research, ...props }))) as Synthesized;
/** A reference with its logical id's hash suffix removed, to compare with a readable name. */
const unhashed = (reference: string) => reference.replace(/_[0-9A-F]{8}\b/g, '');
const env = (app: Record<string, any>): Record<string, string> => Object.fromEntries(app.template.container[0].env.map((e: { name: string; value?: string; secret_name?: string }) => [e.name, e.value ?? `secret:${e.secret_name}`]));

describe('AzureAgentContainer', () => {
  const out = synth();
  const app = single(out.resource, 'azurerm_container_app');

  it('scales on the depth of its Service Bus queue, down to zero, with an identity and no connection string', () => {
    assert.equal(app.template.min_replicas, 0);
    assert.equal(app.template.max_replicas, 10);
    const [rule, ...others] = app.template.custom_scale_rule;
    assert.equal(others.length, 0);
    assert.equal(rule.custom_rule_type, 'azure-servicebus');
    assert.equal(unhashed(rule.metadata.queueName), '${azurerm_servicebus_queue.Queue.name}');
    assert.equal(unhashed(rule.metadata.namespace), '${azurerm_servicebus_namespace.Bus_Namespace.name}');
    // Each replica is counted for the messages it runs at once.
    assert.equal(rule.metadata.messageCount, '4');
    assert.equal(env(app).AGENT_CONCURRENCY, '4');
    assert.equal(rule.authentication, undefined);
    assert.equal(unhashed(rule.identity), '${azurerm_user_assigned_identity.Agent_ScaleIdentity.id}');
    // The provider that knows the rule's identity field.
    assert.deepEqual(out.terraform.required_providers.azurerm, { source: 'hashicorp/azurerm', version: SCALE_RULE_IDENTITY_AZURERM });
  });

  it('gives the scale rule an identity of its own, Data Owner on this queue only, which KEDA needs to read its depth', () => {
    const scaler = Object.values(out.resource.azurerm_role_assignment!).filter((r) => String(r.principal_id).includes('Agent_ScaleIdentity'));
    assert.deepEqual(scaler.map((r) => `${r.role_definition_name} @ ${unhashed(r.scope)}`), ['Azure Service Bus Data Owner @ ${azurerm_servicebus_queue.Queue.id}']);
    assert.ok(app.depends_on.map(unhashed).includes('azurerm_role_assignment.Agent_ScaleReader'));
  });

  it('has no ingress, no secret values and no keys: model keys are Key Vault references, the image is pulled with its identity', () => {
    assert.equal(app.ingress, undefined);
    const identity = app.identity.identity_ids[0];
    assert.equal(unhashed(identity), '${azurerm_user_assigned_identity.Agent_Identity.id}');
    assert.deepEqual(app.registry, [{ server: app.registry[0].server, identity }]);
    assert.ok(app.secret.length > 0);
    for (const secret of app.secret) {
      assert.equal(secret.value, undefined);
      assert.match(secret.key_vault_secret_id, /^\$\{azurerm_key_vault_secret\.Secrets_Secret-[\w-]+\.versionless_id\}$/);
      assert.equal(secret.identity, identity);
    }
    assert.equal(env(app).SECRET_ANTHROPIC_API_KEY, `secret:${app.secret.find((s: { key_vault_secret_id: string }) => s.key_vault_secret_id.includes('anthropic'))!.name}`);
    const text = JSON.stringify(out);
    assert.doesNotMatch(text, /SharedAccessKey|AccountKey=|Endpoint=sb:\/\/|primary_connection_string|admin_password/);
    const registry = single(out.resource, 'azurerm_container_registry');
    assert.equal(registry.admin_enabled, false);
    assert.equal(registry.anonymous_pull_enabled, false);
    // The provider is the stack's, absent here: the hybrid stack's test checks every rule.
    assert.deepEqual(secureDefaultFindings(out).filter((f) => f.rule !== 'AzureSecure-StorageKeysFromProvider'), []);
  });

  it('runs the runtime with the settings its function would have, and reads its queue with its identity', () => {
    const e = env(app);
    const config = decodeAgentConfig(e[AGENT_CONFIG_ENV]!);
    assert.equal(config.definition.name, 'helper');
    assert.equal(config.definition.placement, 'container');
    assert.equal(unhashed(e.AZURE_CLIENT_ID!), '${azurerm_user_assigned_identity.Agent_Identity.client_id}');
    assert.match(e.ServiceBusConnection__fullyQualifiedNamespace!, /\.name\}\.servicebus\.windows\.net$/);
    assert.equal(e.AGENT_QUEUE_MAX_DELIVERIES, '3');
    assert.equal(e.AGENT_SHUTDOWN_GRACE_SECONDS, '90');
    assert.equal(app.template.termination_grace_period_seconds, 120);
    // The platform probes /ping, which fails once the host is draining.
    assert.equal(app.template.container[0].liveness_probe[0].path, '/ping');
    assert.equal(app.template.container[0].startup_probe[0].port, 8080);
    // No Functions host settings: no host, no package, no timers.
    assert.equal(e.WEBSITE_RUN_FROM_PACKAGE, undefined);
    assert.equal(e.AzureWebJobsStorage__credential, undefined);
  });

  it('holds the same roles as the function placement of the same agent, on the same resources: only what each host needs to run differs', () => {
    const fn = JSON.parse(Testing.synthScope((scope) => azureAgent(scope, { agent: { ...research, placement: 'function', limits: { ...research.limits, timeoutSeconds: 300 } } }))) as Synthesized;
    const rolesOf = (resources: Resources) =>
      Object.values(resources.azurerm_role_assignment!)
        .filter((r) => String(r.principal_id).startsWith('${azurerm_user_assigned_identity.Agent_Identity_'))
        .map((r) => `${r.role_definition_name} @ ${unhashed(String(r.scope))}`)
        .sort();
    const functionHost = ['Storage Blob Data Owner @ ${azurerm_storage_account.Agent_State.id}', 'Storage Blob Data Reader @ ${azurerm_storage_container.Runtime_Container.resource_manager_id}', 'Monitoring Metrics Publisher @ ${azurerm_application_insights.Observability_Insights.id}'];
    const containerHost = ['Storage Blob Data Contributor @ ${azurerm_storage_account.Agent_State.id}', 'AcrPull @ ${azurerm_container_registry.Containers_Registry.id}'];
    const functionRoles = rolesOf(fn.resource);
    const containerRoles = rolesOf(out.resource);
    for (const role of functionHost) assert.ok(functionRoles.includes(role), role);
    for (const role of containerHost) assert.ok(containerRoles.includes(role), role);
    const agentRoles = functionRoles.filter((r) => !functionHost.includes(r));
    assert.deepEqual(containerRoles.filter((r) => !containerHost.includes(r)), agentRoles);
    assert.deepEqual(agentRoles, [
      'Azure Service Bus Data Receiver @ ${azurerm_servicebus_queue.Queue.id}',
      'EventGrid Data Sender @ ${azurerm_eventgrid_topic.Events_Topic.id}',
      'Key Vault Secrets User @ ${azurerm_key_vault_secret.Secrets_Secret-anthropic-api-key.resource_versionless_id}',
      'Key Vault Secrets User @ ${azurerm_key_vault_secret.Secrets_Secret-azure-openai-api-key.resource_versionless_id}',
      'Storage Blob Data Contributor @ ${azurerm_storage_container.Agent_Audit_Container.resource_manager_id}',
      'Storage Blob Data Reader @ ${azurerm_storage_container.Skills_Container.resource_manager_id}',
    ]);
  });

  it('alerts on failed runs from its console logs in the workspace', () => {
    const alert = single(out.resource, 'azurerm_monitor_scheduled_query_rules_alert_v2');
    assert.deepEqual(alert.scopes.map(unhashed), ['${azurerm_log_analytics_workspace.Observability_Workspace.id}']);
    assert.equal(alert.criteria[0].query, failedRunsQuery('helper', app.name));
    assert.match(alert.criteria[0].query, /^ContainerAppConsoleLogs\n\| where ContainerAppName == "stack-agent-\w+"/);
  });
});

describe('AzureContainerEnvironment', () => {
  const out = synth();
  const app = single(out.resource, 'azurerm_container_app');

  it('sends the containers\' logs to the workspace through a diagnostic setting, never its shared key', () => {
    const environment = single(out.resource, 'azurerm_container_app_environment');
    assert.equal(environment.logs_destination, 'azure-monitor');
    assert.equal(environment.log_analytics_workspace_id, undefined);
    const setting = single(out.resource, 'azurerm_monitor_diagnostic_setting');
    assert.equal(unhashed(setting.target_resource_id), '${azurerm_container_app_environment.Containers_Environment.id}');
    assert.equal(unhashed(setting.log_analytics_workspace_id), '${azurerm_log_analytics_workspace.Observability_Workspace.id}');
    assert.deepEqual(setting.enabled_log.map((l: { category: string }) => l.category), ['ContainerAppConsoleLogs', 'ContainerAppSystemLogs']);
  });

  it('builds one image from the staged context, tagged by its hash, in the registry with ACR Tasks, before any app starts', () => {
    const build = single(out.resource, 'terraform_data');
    const command: string = build.provisioner[0]['local-exec'].command;
    const [, tag] = /--image serverless-agents\/runtime:(\w+) /.exec(command)!;
    assert.equal(app.template.container[0].image.endsWith(`/${RUNTIME_IMAGE_REPOSITORY}:${tag}`), true);
    assert.match(command, /^az acr build --registry \$\{azurerm_container_registry\.Containers_Registry_\w+\.name\} --image \S+ --platform linux\/amd64 assets\/Containers_Context_\w+\/\w+$/);
    assert.deepEqual(build.triggers_replace[1], tag);
    assert.ok(app.depends_on.map(unhashed).includes('terraform_data.Containers_Build'));
    // The context: the Azure container bundle and its Dockerfile, no Functions package.
    const context = containerContextDir('azure');
    assert.ok(existsSync(join(context, 'container.mjs')));
    assert.equal(existsSync(join(context, 'index.mjs')), false);
    assert.equal(existsSync(join(context, 'host.json')), false);
    assert.match(readFileSync(join(context, 'Dockerfile'), 'utf8'), /^USER node$/m);
  });

  it('leaves the build to a pipeline when asked, and the apps then wait for nothing but their roles', () => {
    const resources = JSON.parse(
      Testing.synthScope((scope) => {
        const observability = new AzureObservability(scope, 'Observability', { name: 'agents', resourceGroupName: 'agents', location: 'westeurope' });
        new AzureContainerEnvironment(scope, 'Containers', { name: 'agents-containers', resourceGroupName: 'agents', location: 'westeurope', observability, buildImage: false });
      }),
    ).resource as Resources;
    assert.equal(resources.terraform_data, undefined);
  });
});

describe('AzureAgentContainer refusals', () => {
  const fails = (props: Partial<Parameters<typeof azureContainerAgent>[1]>, message: RegExp) => assert.throws(() => synth(props), message);

  it('names the agent and the field', () => {
    fails({ agent: { ...research, triggers: [{ type: 'schedule', expression: 'rate(1 hour)', input: 'Review the queue.' }] } }, /agent "helper": triggers\[0\]: on Azure a schedule is a Functions timer/);
    fails({ agent: { ...research, placement: 'function', limits: { ...research.limits, timeoutSeconds: 300 } } }, /agent "helper": placement: AzureAgentContainer deploys agents with placement: container; this one's is "function" \(deploy it with AzureAgentFunction\)/);
    fails({ agent: { ...research, placement: 'agentcore', triggers: [{ type: 'api' }], limits: { ...research.limits, timeoutSeconds: 300 } } }, /agent "helper": placement: "agentcore" is Amazon Bedrock AgentCore Runtime, on AWS only/);
    fails({ cpu: 0.3 }, /agent "helper": cpu: a Consumption replica has 0.25 to 4 vCPUs in steps of 0.25; got 0.3/);
    fails({ maxReplicas: 0 }, /agent "helper": maxReplicas: must be a whole number from 1 to 1000; got 0/);
    fails({ messagesPerReplica: 1.5 }, /agent "helper": messagesPerReplica: must be a whole number from 1 to 100; got 1.5/);
    fails({ name: 'Research_Agent' }, /agent "helper": name: a container app's name is 2-32 lowercase letters/);
    fails({ agent: { ...research, tools: [{ name: 'refund', description: 'Refund an order.', kind: 'function', function: 'arn:aws:lambda:eu-west-1:123456789012:function:refund', sideEffect: 'write', input: { type: 'object' } }] } }, /agent "helper": tools\[0\]: "refund" is a function tool/);
  });

  it('takes the events of its event triggers through its queue, with the pattern as Event Grid filters', () => {
    const out = synth({ agent: { ...research, triggers: [{ type: 'queue' }, { type: 'event', pattern: { detailType: ['run.completed'], source: ['intake'] } }] } });
    const [subscription, ...others] = Object.values(out.resource.azurerm_eventgrid_event_subscription!);
    assert.equal(others.length, 0);
    assert.deepEqual(subscription!.included_event_types, ['run.completed']);
    assert.equal(unhashed(subscription!.service_bus_queue_endpoint_id), '${azurerm_servicebus_queue.Queue.id}');
    assert.deepEqual(subscription!.advanced_filter.string_begins_with[0].values, ['intake/']);
    const senders = Object.values(out.resource.azurerm_role_assignment!).filter((r) => r.role_definition_name === 'Azure Service Bus Data Sender');
    assert.deepEqual(senders.map((r) => unhashed(r.principal_id)), ['${azurerm_user_assigned_identity.Events_DeliveryIdentity.principal_id}']);
  });

  it('sizes memory from the vCPUs, as the Consumption profile allows', () => {
    const app = single(synth({ cpu: 2.5, maxReplicas: 40, messagesPerReplica: 8 }).resource, 'azurerm_container_app');
    assert.equal(app.template.container[0].cpu, 2.5);
    assert.equal(app.template.container[0].memory, '5Gi');
    assert.equal(app.template.max_replicas, 40);
    assert.equal(app.template.custom_scale_rule[0].metadata.messageCount, '8');
  });
});

describe('Azure secure defaults for container apps', () => {
  const path = { '//': { metadata: { path: 'stack/Agent/App' } } };
  const findings = (app: Record<string, unknown>) => secureDefaultFindings({ resource: { azurerm_container_app: { App: { ...app, ...path } } } }).map((f) => f.rule);

  it('finds public ingress, secret values, registry passwords and scale rules with keys', () => {
    const keyless = { template: { custom_scale_rule: [{ custom_rule_type: 'azure-servicebus', identity: 'id' }] } };
    assert.deepEqual(findings(keyless), []);
    assert.deepEqual(findings({ ...keyless, ingress: { external_enabled: true, target_port: 8080 } }), ['AzureSecure-ContainerAppIngress']);
    assert.deepEqual(findings({ ...keyless, ingress: { external_enabled: false, target_port: 8080 } }), []);
    assert.deepEqual(findings({ ...keyless, secret: [{ name: 'sb', value: 'Endpoint=sb://x' }] }), ['AzureSecure-ContainerAppSecrets']);
    assert.deepEqual(findings({ ...keyless, registry: [{ server: 'r.azurecr.io', username: 'r', password_secret_name: 'pw' }] }), ['AzureSecure-ContainerAppSecrets']);
    assert.deepEqual(findings({ template: { custom_scale_rule: [{ custom_rule_type: 'azure-servicebus', authentication: [{ secret_name: 'sb', trigger_parameter: 'connection' }] }] } }), ['AzureSecure-ScaleRuleKeys']);
    assert.deepEqual(findings({ template: { custom_scale_rule: [{ custom_rule_type: 'cpu', metadata: { type: 'Utilization', value: '70' } }] } }), []);
    const registry = (r: Record<string, unknown>) => secureDefaultFindings({ resource: { azurerm_container_registry: { R: { ...r, ...path } } } }).map((f) => f.rule);
    assert.deepEqual(registry({ admin_enabled: true }), ['AzureSecure-RegistryAuth']);
    assert.deepEqual(registry({ admin_enabled: false, anonymous_pull_enabled: true }), ['AzureSecure-RegistryAuth']);
    assert.deepEqual(registry({ admin_enabled: false }), []);
  });
});
