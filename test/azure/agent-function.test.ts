import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import { Testing } from '../../constructs/azure/engine';
import { agentInput } from '../helpers';
import { azureAgent, single, synthAzure, type Resources } from '../__fixtures__/azure-synth';

const triage = agentInput({ skills: ['ticket-triage'], triggers: [{ type: 'api' }, { type: 'job' }, { type: 'schedule', expression: 'cron(0 7 ? * MON-FRI *)', input: 'Summarise.' }] });
const synth = (props: Parameters<typeof azureAgent>[1] = { agent: triage }, options?: Parameters<typeof azureAgent>[2]): Resources => synthAzure((scope) => azureAgent(scope, props, options));
/** The whole Terraform JSON, `terraform` block included. */
const synthAll = (props: Parameters<typeof azureAgent>[1] = { agent: triage }): { terraform: { required_providers: Record<string, { source: string; version: string }> }; resource: Resources } =>
  JSON.parse(Testing.synthScope((scope) => azureAgent(scope, props)));
/** A reference with its logical id's hash suffix removed, to compare with a readable name. */
const unhashed = (reference: string) => reference.replace(/_[0-9A-F]{8}\b/g, '');

describe('AzureAgentFunction', () => {
  const resources = synth();
  const app = single(resources, 'azurerm_linux_function_app');

  it('runs HTTPS only with TLS 1.2, FTP and basic publishing credentials off', () => {
    assert.equal(app.https_only, true);
    assert.equal(app.ftp_publish_basic_authentication_enabled, false);
    assert.equal(app.webdeploy_publish_basic_authentication_enabled, false);
    assert.equal(app.site_config.minimum_tls_version, '1.2');
    assert.equal(app.site_config.scm_minimum_tls_version, '1.2');
    assert.equal(app.site_config.ftps_state, 'Disabled');
    assert.equal(app.site_config.remote_debugging_enabled, false);
    assert.equal(app.site_config.application_stack.node_version, '22');
  });

  it('has its own user-assigned identity, used for Key Vault references, storage and Service Bus', () => {
    assert.ok(Object.keys(resources.azurerm_user_assigned_identity!).some((id) => id.startsWith('Agent_Identity_')));
    assert.equal(app.identity.type, 'UserAssigned');
    assert.match(app.identity.identity_ids[0], /^\$\{azurerm_user_assigned_identity\.Agent_Identity_\w+\.id\}$/);
    assert.equal(app.key_vault_reference_identity_id, app.identity.identity_ids[0]);
    const s = app.app_settings;
    assert.match(s.AZURE_CLIENT_ID, /\.client_id\}$/);
    assert.equal(s.AzureWebJobsStorage__credential, 'managedidentity');
    assert.equal(s.AzureWebJobsStorage__clientId, s.AZURE_CLIENT_ID);
    assert.equal(s.ServiceBusConnection__credential, 'managedidentity');
    assert.equal(s.AGENT_QUEUE_MAX_DELIVERIES, '3');
    assert.equal(s.ServiceBusConnection__clientId, s.AZURE_CLIENT_ID);
    assert.match(s.ServiceBusConnection__fullyQualifiedNamespace, /\.name\}\.servicebus\.windows\.net$/);
    assert.equal(app.storage_uses_managed_identity, true);
    assert.equal(app.storage_account_access_key, undefined);
  });

  it('runs the runtime from the package blob, fetched with its identity, and needs no content share', () => {
    assert.match(app.app_settings.WEBSITE_RUN_FROM_PACKAGE, /^\$\{azurerm_storage_blob\.Runtime_Zip_\w+\.url\}$/);
    assert.equal(app.app_settings.WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID, app.identity.identity_ids[0]);
    assert.equal(app.content_share_force_disabled, true);
    // Created once its roles have taken effect, so its first start can fetch the package.
    assert.deepEqual(app.depends_on.map(unhashed), ['time_sleep.Agent_RolesPropagated']);
    assert.equal(app.zip_deploy_file, undefined);
    const zip = Object.values(resources.azurerm_storage_blob!).find((b) => b.content_type === 'application/zip')!;
    assert.match(zip.source, /^assets\/.+\/archive\.zip$/);
  });

  it('sends telemetry to Application Insights with Entra ID, not an instrumentation key', () => {
    assert.match(app.site_config.application_insights_connection_string, /azurerm_application_insights\.\w+\.connection_string/);
    assert.equal(app.site_config.application_insights_key, undefined);
    assert.match(app.app_settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING, /^ClientId=\$\{.+\.client_id\};Authorization=AAD$/);
  });

  it('reads model keys as Key Vault references, each granted on its own secret', () => {
    assert.match(app.app_settings.SECRET_AZURE_OPENAI_API_KEY, /^@Microsoft\.KeyVault\(SecretUri=\$\{azurerm_key_vault_secret\.Secrets_Secret-azure-openai-api-key_\w+\.versionless_id\}\/\)$/);
    assert.match(app.app_settings.SECRET_ANTHROPIC_API_KEY, /Secrets_Secret-anthropic-api-key_\w+\.versionless_id\}\/\)$/);
    const config = decodeAgentConfig(app.app_settings[AGENT_CONFIG_ENV]);
    assert.deepEqual(config.route[0], { provider: 'openai-compatible', model: 'gpt-4-1', baseUrl: 'https://agents-openai.openai.azure.com/openai/v1', apiKeySecret: 'azure-openai-api-key', billedBy: 'azure' });
    assert.deepEqual(config.prices, { 'gpt-4-1': { inputPerMTok: 2, outputPerMTok: 8 } });
  });

  it('holds each role on one resource, and no role on anything else', () => {
    const identity = '${azurerm_user_assigned_identity.Agent_Identity_';
    const mine = Object.values(resources.azurerm_role_assignment!).filter((r) => String(r.principal_id).startsWith(identity));
    const lines = mine.map((r) => `${r.role_definition_name} @ ${String(r.scope).replace(/_[0-9A-F]{8}\b/g, '')}`).sort();
    assert.deepEqual(lines, [
      'Azure Service Bus Data Receiver @ ${azurerm_servicebus_queue.Queue.id}',
      'Azure Service Bus Data Sender @ ${azurerm_servicebus_queue.Queue.id}',
      'EventGrid Data Sender @ ${azurerm_eventgrid_topic.Events_Topic.id}',
      'Key Vault Secrets User @ ${azurerm_key_vault_secret.Secrets_Secret-anthropic-api-key.resource_versionless_id}',
      'Key Vault Secrets User @ ${azurerm_key_vault_secret.Secrets_Secret-azure-openai-api-key.resource_versionless_id}',
      'Monitoring Metrics Publisher @ ${azurerm_application_insights.Observability_Insights.id}',
      'Storage Blob Data Contributor @ ${azurerm_storage_container.Agent_Audit_Container.resource_manager_id}',
      'Storage Blob Data Owner @ ${azurerm_storage_account.Agent_State.id}',
      'Storage Blob Data Reader @ ${azurerm_storage_container.Runtime_Container.resource_manager_id}',
      'Storage Blob Data Reader @ ${azurerm_storage_container.Skills_Container.resource_manager_id}',
    ]);
  });

  it('keeps job status and host state in its own keyless storage account', () => {
    const state = Object.entries(resources.azurerm_storage_account!).find(([id]) => id.startsWith('Agent_State_'))![1];
    assert.equal(state.shared_access_key_enabled, false);
    assert.equal(state.allow_nested_items_to_be_public, false);
    assert.equal(state.min_tls_version, 'TLS1_2');
    assert.match(app.app_settings.STATE_ACCOUNT_URL, /Agent_State_\w+\.primary_blob_endpoint\}$/);
    const containers = Object.values(resources.azurerm_storage_container!).filter((c) => String(c.storage_account_id).includes('Agent_State_'));
    assert.deepEqual(containers.map((c) => c.name), ['jobs']);
    assert.equal(state.blob_properties.versioning_enabled, false, 'state is rewritten in place');
    const retention = Object.values(resources.azurerm_storage_management_policy!).find((p) => String(p.storage_account_id).includes('Agent_State_'))!;
    assert.deepEqual(
      retention.rule.map((r: any) => [r.filters.prefix_match[0], r.actions.base_blob.delete_after_days_since_modification_greater_than]),
      [['jobs/', 30]],
    );
  });

  it('keeps audit records in an account of their own, where no one can change or delete one before its retention ends', () => {
    const account = Object.entries(resources.azurerm_storage_account!).find(([id]) => id.startsWith('Agent_Audit_Account_'))![1];
    assert.equal(account.shared_access_key_enabled, false);
    assert.equal(account.blob_properties.versioning_enabled, false, 'records are created once, never overwritten');
    assert.match(app.app_settings.AUDIT_ACCOUNT_URL, /^\$\{azurerm_storage_account\.Agent_Audit_Account_\w+\.primary_blob_endpoint\}$/);
    const [containerId, container] = Object.entries(resources.azurerm_storage_container!).find(([, c]) => String(c.storage_account_id).includes('Agent_Audit_Account_'))!;
    assert.equal(container.name, 'audit');
    const policy = single(resources, 'azurerm_storage_container_immutability_policy');
    assert.equal(policy.storage_container_resource_manager_id, `\${azurerm_storage_container.${containerId}.resource_manager_id}`);
    assert.equal(policy.immutability_period_in_days, 400);
    assert.equal(policy.protected_append_writes_enabled, false);
    assert.equal(policy.protected_append_writes_all_enabled, false);
    assert.equal(policy.locked, false);
    const retention = Object.values(resources.azurerm_storage_management_policy!).find((p) => String(p.storage_account_id).includes('Agent_Audit_Account_'))!;
    assert.deepEqual(
      retention.rule.map((r: any) => [r.filters.prefix_match[0], r.actions.base_blob.delete_after_days_since_modification_greater_than]),
      [['audit/', 400]],
      'records are deleted once the policy lets them go, not before',
    );
    // The agent may create blobs in that container, and holds no role on the account itself.
    const onAudit = Object.values(resources.azurerm_role_assignment!).filter((r) => /Agent_Audit_/.test(String(r.scope)));
    assert.deepEqual(onAudit.map((r) => `${r.role_definition_name} @ ${unhashed(r.scope)}`), ['Storage Blob Data Contributor @ ${azurerm_storage_container.Agent_Audit_Container.resource_manager_id}']);
  });

  it('keeps the immutability period and the deletion of audit records in step when the retention changes, and locks the policy when told', () => {
    const r = synth({ agent: triage, auditRetentionDays: 2555, lockAuditPolicy: true });
    const policy = single(r, 'azurerm_storage_container_immutability_policy');
    assert.equal(policy.immutability_period_in_days, 2555);
    assert.equal(policy.locked, true);
    const retention = Object.values(r.azurerm_storage_management_policy!).find((p) => String(p.storage_account_id).includes('Agent_Audit_Account_'))!;
    assert.equal(retention.rule[0].actions.base_blob.delete_after_days_since_modification_greater_than, 2555);
  });

  it('syncs its triggers with Azure after it is created, and again whenever its package or settings change', () => {
    const out = synthAll();
    assert.deepEqual(out.terraform.required_providers.azapi, { source: 'Azure/azapi', version: '~> 2.0' });
    assert.equal(Object.keys(out.resource.azapi_resource_action!).length, 1);
    const sync = single(out.resource, 'azapi_resource_action');
    assert.equal(sync.type, 'Microsoft.Web/sites@2022-03-01');
    assert.equal(sync.action, 'syncfunctiontriggers');
    assert.equal(sync.method, 'POST');
    const [appId, app] = Object.entries(out.resource.azurerm_linux_function_app!)[0]!;
    assert.equal(sync.resource_id, `\${azurerm_linux_function_app.${appId}.id}`);
    const [deployedId, deployed] = Object.entries(out.resource.terraform_data!)[0]!;
    assert.deepEqual(sync.lifecycle.replace_triggered_by, [`\${terraform_data.${deployedId}}`]);
    // A new package is a new blob URL; any change to the settings changes their hash.
    assert.equal(deployed.triggers_replace.package, app.app_settings.WEBSITE_RUN_FROM_PACKAGE);
    assert.equal(deployed.triggers_replace.settings, `\${sha256(jsonencode(azurerm_linux_function_app.${appId}.app_settings))}`);
  });

  it('waits for every role of its identity to take effect before the app is created, and again when one changes', () => {
    const out = synthAll();
    assert.deepEqual(out.terraform.required_providers.time, { source: 'hashicorp/time', version: '~> 0.12' });
    const sleep = Object.entries(out.resource.time_sleep!).find(([id]) => id.startsWith('Agent_RolesPropagated_'))![1];
    assert.equal(sleep.create_duration, '60s');
    const identity = Object.keys(out.resource.azurerm_user_assigned_identity!).find((id) => id.startsWith('Agent_Identity_'))!;
    const mine = Object.entries(out.resource.azurerm_role_assignment!).filter(([, r]) => r.principal_id === `\${azurerm_user_assigned_identity.${identity}.principal_id}`);
    assert.equal(mine.length, 10);
    assert.deepEqual(Object.values(sleep.triggers).sort(), mine.map(([id]) => `\${azurerm_role_assignment.${id}.id}`).sort());
    assert.ok('Runtime/Reader-helper' in sleep.triggers && 'Skills/Reader-helper' in sleep.triggers, "keyed by path, so two constructs' readers stay apart");
  });

  it('sends its run metrics past sampling and alerts on failed runs, to the action group given', () => {
    assert.equal(app.app_settings.AzureFunctionsJobHost__logging__applicationInsights__samplingSettings__excludedTypes, 'Request;Trace');
    const oncall = '/subscriptions/s/resourceGroups/agents/providers/microsoft.insights/actionGroups/oncall';
    const alert = single(synth({ agent: triage, actionGroupId: oncall }), 'azurerm_monitor_scheduled_query_rules_alert_v2');
    assert.match(alert.scopes[0], /^\$\{azurerm_application_insights\.Observability_Insights_\w+\.id\}$/);
    assert.match(alert.criteria[0].query, /tostring\(line\.agent\) == "helper"/);
    assert.match(alert.criteria[0].query, /line\.metrics\.RunFailures\.value/);
    assert.deepEqual([alert.criteria[0].operator, alert.criteria[0].threshold, alert.criteria[0].time_aggregation_method, alert.criteria[0].metric_measure_column], ['GreaterThan', 0, 'Total', 'failures']);
    assert.deepEqual(alert.action.action_groups, [oncall]);
    assert.equal(single(resources, 'azurerm_monitor_scheduled_query_rules_alert_v2').action, undefined);
  });

  it('requires an Entra ID token by default, for an app registration it creates, which issues tokens only to callers given its role', () => {
    const out = synthAll();
    assert.deepEqual(out.terraform.required_providers.azuread, { source: 'hashicorp/azuread', version: '~> 3.0' });
    const [registrationId, registration] = Object.entries(out.resource.azuread_application!)[0]!;
    assert.equal(registration.sign_in_audience, 'AzureADMyOrg');
    const app = single(out.resource, 'azurerm_linux_function_app');
    assert.deepEqual(registration.identifier_uris, [`api://\${data.azurerm_client_config.Deployer.tenant_id}/${app.name}`]);
    assert.deepEqual(registration.owners, ['${data.azurerm_client_config.Deployer.object_id}']);
    assert.deepEqual(registration.api, [{ requested_access_token_version: 2 }]);
    assert.deepEqual([registration.app_role[0].value, registration.app_role[0].allowed_member_types], ['Agent.Invoke', ['Application', 'User']]);
    assert.match(registration.app_role[0].id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(synthAll().resource.azuread_application![registrationId]!.app_role[0].id, registration.app_role[0].id, 'the role id is the same on every synth');
    const principal = single(out.resource, 'azuread_service_principal');
    assert.equal(principal.client_id, `\${azuread_application.${registrationId}.client_id}`);
    assert.equal(principal.app_role_assignment_required, true);
    assert.equal(app.app_settings.HTTP_AUTH_LEVEL, 'anonymous');
    assert.equal(app.auth_settings_v2.require_authentication, true);
    assert.equal(app.auth_settings_v2.unauthenticated_action, 'Return401');
    assert.equal(app.auth_settings_v2.active_directory_v2.client_id, principal.client_id);
    assert.equal(app.auth_settings_v2.active_directory_v2.tenant_auth_endpoint, 'https://login.microsoftonline.com/${data.azurerm_client_config.Deployer.tenant_id}/v2.0');
    assert.deepEqual(app.auth_settings_v2.active_directory_v2.allowed_audiences, registration.identifier_uris);
    // No reason to record: only the cohort its budget filters on.
    assert.deepEqual(app.tags, { cohort: 'default' });
  });

  it('creates no registration for an agent that serves no HTTP route', () => {
    const r = synth({ agent: agentInput({ triggers: [{ type: 'queue' }] }) });
    assert.equal(r.azuread_application, undefined);
    const app = single(r, 'azurerm_linux_function_app');
    assert.equal(app.app_settings.HTTP_AUTH_LEVEL, 'admin');
    assert.equal(app.auth_settings_v2, undefined);
  });

  it('serves HTTP with function keys only when told so with the reason, recorded on the app', () => {
    const reason = "Only the team's smoke tests call this dev agent.";
    const keys = synth({ agent: triage, auth: { type: 'function-keys', reason } });
    const app = single(keys, 'azurerm_linux_function_app');
    assert.equal(app.app_settings.HTTP_AUTH_LEVEL, 'function');
    assert.equal(app.auth_settings_v2, undefined);
    assert.deepEqual(app.tags, { 'serverless-agents-function-keys-reason': reason, cohort: 'default' });
    assert.equal(keys.azuread_application, undefined);
    for (const missing of [' ', 'keys', undefined]) {
      assert.throws(
        () => synth({ agent: triage, auth: { type: 'function-keys', reason: missing as never } }),
        /agent "helper": auth: function keys name no caller and are shared secrets; choosing them needs the reason they are enough here/,
      );
    }
  });

  it('serves schedules as NCRONTAB, and the timeout with room for the audit', () => {
    assert.equal(app.app_settings.SCHEDULE_0, '0 0 7 * * 1-5');
    assert.equal(app.app_settings.AzureFunctionsJobHost__functionTimeout, '00:02:30');
    assert.equal(app.app_settings.AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration, '00:02:30');
  });

  it('caps instances and runs per instance from maxConcurrency, never above it', () => {
    const capped = single(synth({ agent: triage, maxConcurrency: 10 }), 'azurerm_linux_function_app');
    assert.equal(capped.site_config.app_scale_limit, 3);
    assert.equal(capped.app_settings.AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls, '3');
    assert.equal(capped.app_settings.AzureFunctionsJobHost__extensions__http__maxConcurrentRequests, '3');
    const queued = single(synth({ agent: agentInput({ triggers: [{ type: 'queue' }] }), maxConcurrency: 1 }), 'azurerm_linux_function_app');
    assert.deepEqual([queued.site_config.app_scale_limit, queued.app_settings.AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls], [1, '1']);
    assert.equal(queued.app_settings.AzureFunctionsJobHost__extensions__http__maxConcurrentRequests, undefined, 'no api trigger, no HTTP runs to cap');
    const most = single(synth({ agent: triage, maxConcurrency: 1000 }), 'azurerm_linux_function_app');
    assert.deepEqual([most.site_config.app_scale_limit, most.app_settings.AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls], [100, '10'], 'at most 100 instances');
    assert.equal(app.site_config.app_scale_limit, undefined, 'no cap unless asked');
    assert.equal(app.app_settings.AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls, undefined);
  });

  it('takes an app registration named in config instead of creating one', () => {
    const entra = single(synth({ agent: triage, auth: { type: 'entra-id', clientId: '11111111-2222-3333-4444-555555555555', tenantId: '99999999-8888-7777-6666-555555555555' } }), 'azurerm_linux_function_app');
    assert.equal(entra.auth_settings_v2.auth_enabled, true);
    assert.equal(entra.auth_settings_v2.require_authentication, true);
    assert.equal(entra.auth_settings_v2.unauthenticated_action, 'Return401');
    assert.equal(entra.auth_settings_v2.active_directory_v2.tenant_auth_endpoint, 'https://login.microsoftonline.com/99999999-8888-7777-6666-555555555555/v2.0');
    assert.deepEqual(entra.auth_settings_v2.active_directory_v2.allowed_audiences, ['api://11111111-2222-3333-4444-555555555555']);
    assert.equal(entra.app_settings.HTTP_AUTH_LEVEL, 'anonymous');
    // Event Grid calls with the function's system key, never an Entra ID token.
    assert.deepEqual(entra.auth_settings_v2.excluded_paths, ['/runtime/webhooks/eventgrid']);
    const named = synth({ agent: triage, auth: { type: 'entra-id', clientId: '11111111-2222-3333-4444-555555555555' } });
    assert.equal(named.azuread_application, undefined);
    assert.match(single(named, 'azurerm_linux_function_app').auth_settings_v2.active_directory_v2.tenant_auth_endpoint, /data\.azurerm_client_config\.Deployer\.tenant_id/);
  });

  it('is anonymous only with a reason', () => {
    assert.throws(() => synth({ agent: triage, auth: { type: 'anonymous', reason: ' ' } }), /agent "helper": auth: an anonymous entry point needs the reason it is safe/);
    const open = single(synth({ agent: triage, auth: { type: 'anonymous', reason: 'a private endpoint fronts it' } }), 'azurerm_linux_function_app');
    assert.equal(open.app_settings.HTTP_AUTH_LEVEL, 'anonymous');
    assert.equal(open.auth_settings_v2, undefined);
  });

  it('takes a name override', () => {
    assert.equal(single(synth({ agent: triage, name: 'triage-prod' }), 'azurerm_linux_function_app').name, 'triage-prod');
  });

  it('subscribes an event trigger to the topic with retries and a dead-letter container', () => {
    const r = synth({ agent: agentInput({ triggers: [{ type: 'event', pattern: { detailType: ['handoff'], detail: { to: ['helper'] } } }] }) });
    const sub = single(r, 'azurerm_eventgrid_event_subscription');
    assert.match(sub.azure_function_endpoint.function_id, /^\$\{azurerm_linux_function_app\.Agent_App_\w+\.id\}\/functions\/events$/);
    assert.deepEqual(sub.included_event_types, ['handoff']);
    assert.deepEqual(sub.advanced_filter.string_in, [{ key: 'data.to', values: ['helper'] }]);
    assert.deepEqual(sub.retry_policy, { max_delivery_attempts: 10, event_time_to_live: 1440 });
    assert.match(sub.storage_blob_dead_letter_destination.storage_blob_container_name, /Events_DeadLetterContainer_\w+\.name/);
    assert.equal(sub.dead_letter_identity.type, 'UserAssigned');
    // Event Grid finds the events function only once the host has registered it.
    assert.deepEqual(sub.depends_on.map(unhashed), ['azapi_resource_action.Agent_TriggerSync']);
  });
});

describe('AzureAgentFunction bad input fails synth naming the agent and the field', () => {
  const cases: [string, Parameters<typeof azureAgent>[1], RegExp, { planSku?: string }?][] = [
    ['a function tool', { agent: agentInput({ tools: [{ name: 'refund', description: 'Refunds.', kind: 'function', function: 'refund', sideEffect: 'write', input: { type: 'object' } }] }) }, /agent "helper": tools\[0\]: "refund" is a function tool, which invokes AWS Lambda/],
    ['a skill the store lacks', { agent: agentInput({ skills: ['billing'] }) }, /agent "helper": skills\[0\]: "billing" is not in the AzureSkillStore \(it has: refund-requests, ticket-triage, troubleshooting\)/],
    ['a schedule timers cannot express', { agent: agentInput({ triggers: [{ type: 'schedule', expression: 'cron(0 9 L * ? *)', input: 'x' }] }) }, /agent "helper": triggers\[0\]\.expression: cron\(0 9 L \* \? \*\): day-of-month "L" uses L, W or #/],
    ['a timeout beyond the Consumption plan', { agent: agentInput({ limits: { timeoutSeconds: 900 } }) }, /agent "helper": limits\.timeoutSeconds: 900 s is more than a Consumption plan allows \(at most 570 s\)/],
    ['a cohort routed to Bedrock', { agent: agentInput({ cohort: 'research' }) }, /agent "helper": model: "smart" target 1 is bedrock, which Azure cannot call/],
    ['an unknown alias', { agent: agentInput({ model: 'huge' }) }, /agent "helper": model: alias "huge" is not defined for cohort "default"/],
    ['an event pattern Event Grid cannot filter on', { agent: agentInput({ triggers: [{ type: 'event', pattern: { detail: { amount: [{ numeric: ['>', 100] }] } } }] }) }, /agent "helper": triggers\[0\]\.pattern\.detail\.amount: Event Grid matches data fields against lists of strings only/],
    ['a bad tool policy', { agent: triage, toolPolicy: { deniedTools: 'all' as never } }, /agent "helper": toolPolicy\.deniedTools: /],
    ['a tool policy denying a tool the agent lacks', { agent: triage, toolPolicy: { deniedTools: ['wipe'] } }, /agent "helper": toolPolicy\.deniedTools\[0\]: "wipe" is not a tool of this agent \(it has none\)/],
    [
      'a synchronous run longer than Azure serves HTTP',
      { agent: agentInput({ triggers: [{ type: 'api', timeoutSeconds: 300 }], limits: { timeoutSeconds: 500 } }) },
      /agent "helper": triggers\[0\]\.timeoutSeconds: a synchronous run may take 300 s, but Azure's front end ends HTTP requests at 230 s/,
    ],
    ['a concurrency below one run', { agent: triage, maxConcurrency: 0 }, /agent "helper": maxConcurrency: must be a whole number of runs from 1 to 1000; got 0/],
    ['a concurrency above 1000 runs', { agent: triage, maxConcurrency: 1001 }, /agent "helper": maxConcurrency: must be a whole number of runs from 1 to 1000; got 1001/],
    ['a fractional concurrency', { agent: triage, maxConcurrency: 2.5 }, /agent "helper": maxConcurrency: must be a whole number of runs from 1 to 1000; got 2\.5/],
    ['an audit retention an immutability policy cannot hold', { agent: triage, auditRetentionDays: 0 }, /agent "helper": auditRetentionDays: must be a whole number of days from 1 to 146000/],
    ['an Entra ID client id that is not a GUID', { agent: triage, auth: { type: 'entra-id', clientId: 'support-api' } }, /agent "helper": auth\.clientId: must be the app registration's client id \(a GUID\), got "support-api"/],
  ];
  for (const [what, props, culprit] of cases) it(what, () => assert.throws(() => synth(props), culprit));

  it('a concurrency cap on a plan that cannot cap instances', () => {
    assert.throws(() => synth({ agent: triage, maxConcurrency: 10 }, { planSku: 'P1v3' }), /agent "helper": maxConcurrency: caps instances with appScaleLimit, which only Consumption \(Y1\) and Elastic Premium \(EP1-EP3\) plans honour; the plan is P1v3/);
    assert.equal(single(synth({ agent: triage, maxConcurrency: 10 }, { planSku: 'EP1' }), 'azurerm_linux_function_app').site_config.app_scale_limit, 3);
  });

  it('allows a long timeout on a Dedicated plan', () => {
    const app = single(synth({ agent: agentInput({ limits: { timeoutSeconds: 900 } }) }, { planSku: 'P1v3' }), 'azurerm_linux_function_app');
    assert.equal(app.app_settings.AzureFunctionsJobHost__functionTimeout, '00:15:30');
  });
});

describe('AzureAgentFunction placement', () => {
  it('refuses agents placed elsewhere, naming the field: AgentCore is AWS only, a container agent is AzureAgentContainer\'s', () => {
    assert.throws(() => synth({ agent: agentInput({ placement: 'agentcore' }) }), /agent "helper": placement: "agentcore" is Amazon Bedrock AgentCore Runtime, on AWS only/);
    assert.throws(() => synth({ agent: agentInput({ placement: 'container', triggers: [{ type: 'queue' }] }) }), /agent "helper": placement: AzureAgentFunction deploys agents with placement: function; this one's is "container" \(deploy it with AzureAgentContainer\)/);
  });
});
