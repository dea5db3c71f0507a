import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import { agentInput } from '../helpers';
import { azureAgent, single, synthAzure, type Resources } from '../__fixtures__/azure-synth';

const triage = agentInput({ skills: ['ticket-triage'], triggers: [{ type: 'api' }, { type: 'job' }, { type: 'schedule', expression: 'cron(0 7 ? * MON-FRI *)', input: 'Summarise.' }] });
const synth = (props: Parameters<typeof azureAgent>[1] = { agent: triage }, options?: Parameters<typeof azureAgent>[2]): Resources => synthAzure((scope) => azureAgent(scope, props, options));

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
    // Created after the roles it starts with, so its first start can fetch the package.
    assert.deepEqual(app.depends_on.map((d: string) => d.replace(/_[0-9A-F]{8}$/, '')), ['azurerm_role_assignment.Agent_StateOwner', 'azurerm_role_assignment.Runtime_Reader-helper']);
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
    assert.deepEqual(config.route[0], { provider: 'openai-compatible', model: 'gpt-4-1', baseUrl: 'https://agents-openai.openai.azure.com/openai/v1', apiKeySecret: 'azure-openai-api-key' });
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
      'Storage Blob Data Owner @ ${azurerm_storage_account.Agent_State.id}',
      'Storage Blob Data Reader @ ${azurerm_storage_container.Runtime_Container.resource_manager_id}',
      'Storage Blob Data Reader @ ${azurerm_storage_container.Skills_Container.resource_manager_id}',
    ]);
  });

  it('keeps job status, audit and host state in its own keyless storage account', () => {
    const state = Object.entries(resources.azurerm_storage_account!).find(([id]) => id.startsWith('Agent_State_'))![1];
    assert.equal(state.shared_access_key_enabled, false);
    assert.equal(state.allow_nested_items_to_be_public, false);
    assert.equal(state.min_tls_version, 'TLS1_2');
    assert.match(app.app_settings.STATE_ACCOUNT_URL, /Agent_State_\w+\.primary_blob_endpoint\}$/);
    const containers = Object.entries(resources.azurerm_storage_container!).filter(([id]) => id.startsWith('Agent_'));
    assert.deepEqual(containers.map(([, c]) => c.name).sort(), ['audit', 'jobs']);
    assert.equal(state.blob_properties.versioning_enabled, false, 'state is rewritten in place');
    const retention = single(resources, 'azurerm_storage_management_policy');
    assert.deepEqual(
      retention.rule.map((r: any) => [r.filters.prefix_match[0], r.actions.base_blob.delete_after_days_since_modification_greater_than]),
      [['jobs/', 30], ['audit/', 400]],
    );
  });

  it('serves HTTP with function keys by default, schedules as NCRONTAB, and the timeout with room for the audit', () => {
    assert.equal(app.app_settings.HTTP_AUTH_LEVEL, 'function');
    assert.equal(app.auth_settings_v2, undefined);
    assert.equal(app.app_settings.SCHEDULE_0, '0 0 7 * * 1-5');
    assert.equal(app.app_settings.AzureFunctionsJobHost__functionTimeout, '00:02:30');
    assert.equal(app.app_settings.AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration, '00:02:30');
  });

  it('requires an Entra ID token when told to, and lets the platform reject anonymous callers', () => {
    const entra = single(synth({ agent: triage, auth: { type: 'entra-id', clientId: '11111111-2222-3333-4444-555555555555', tenantId: '99999999-8888-7777-6666-555555555555' } }), 'azurerm_linux_function_app');
    assert.equal(entra.auth_settings_v2.auth_enabled, true);
    assert.equal(entra.auth_settings_v2.require_authentication, true);
    assert.equal(entra.auth_settings_v2.unauthenticated_action, 'Return401');
    assert.equal(entra.auth_settings_v2.active_directory_v2.tenant_auth_endpoint, 'https://login.microsoftonline.com/99999999-8888-7777-6666-555555555555/v2.0');
    assert.deepEqual(entra.auth_settings_v2.active_directory_v2.allowed_audiences, ['api://11111111-2222-3333-4444-555555555555']);
    assert.equal(entra.app_settings.HTTP_AUTH_LEVEL, 'anonymous');
    // Event Grid calls with the function's system key, never an Entra ID token.
    assert.deepEqual(entra.auth_settings_v2.excluded_paths, ['/runtime/webhooks/eventgrid']);
  });

  it('is anonymous only with a reason', () => {
    assert.throws(() => synth({ agent: triage, auth: { type: 'anonymous', reason: ' ' } }), /agent "helper": auth: an anonymous entry point needs the reason it is safe/);
    const open = single(synth({ agent: triage, auth: { type: 'anonymous', reason: 'a private endpoint fronts it' } }), 'azurerm_linux_function_app');
    assert.equal(open.app_settings.HTTP_AUTH_LEVEL, 'anonymous');
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
  });
});

describe('AzureAgentFunction bad input fails synth naming the agent and the field', () => {
  const cases: [string, Parameters<typeof azureAgent>[1], RegExp, { planSku?: string }?][] = [
    ['a function tool', { agent: agentInput({ tools: [{ name: 'refund', description: 'Refunds.', kind: 'function', function: 'refund', sideEffect: 'write', input: { type: 'object' } }] }) }, /agent "helper": tools\[0\]: "refund" is a function tool, which invokes AWS Lambda/],
    ['a skill the store lacks', { agent: agentInput({ skills: ['billing'] }) }, /agent "helper": skills\[0\]: "billing" is not in the AzureSkillStore \(it has: refund-requests, ticket-triage\)/],
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
  ];
  for (const [what, props, culprit] of cases) it(what, () => assert.throws(() => synth(props), culprit));

  it('allows a long timeout on a Dedicated plan', () => {
    const app = single(synth({ agent: agentInput({ limits: { timeoutSeconds: 900 } }) }, { planSku: 'P1v3' }), 'azurerm_linux_function_app');
    assert.equal(app.app_settings.AzureFunctionsJobHost__functionTimeout, '00:15:30');
  });
});
