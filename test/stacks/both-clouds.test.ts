import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Testing } from '../../constructs/azure/engine';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import { AzureSingleAgentStack } from '../../stacks/single-agent/azure-single-agent-stack';
import { exampleAgent } from '../../stacks/single-agent/example-agent';
import { SingleAgentStack } from '../../stacks/single-agent/single-agent-stack';
import { ROUTER } from '../helpers';
import { AZURE_ROUTER, type Resources } from '../__fixtures__/azure-synth';

describe('one agent definition, both clouds', () => {
  const agent = exampleAgent();
  const aws = Template.fromStack(new SingleAgentStack(new App(), 'Stage1', { env: { account: '123456789012', region: 'eu-west-1' }, models: ROUTER, agents: [agent] }));
  const azure = (JSON.parse(Testing.synth(new AzureSingleAgentStack(Testing.app(), 'stage1', { location: 'westeurope', models: AZURE_ROUTER, agents: [agent] }))) as { resource: Resources }).resource;
  const lambda = Object.values(aws.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.[AGENT_CONFIG_ENV])!;
  const functionApp = Object.values(azure.azurerm_linux_function_app!)[0]!;
  const onAws = decodeAgentConfig(lambda.Properties.Environment.Variables[AGENT_CONFIG_ENV]);
  const onAzure = decodeAgentConfig(functionApp.app_settings[AGENT_CONFIG_ENV]);

  it('carries the same definition, to the content hash, on AWS Lambda and Azure Functions', () => {
    assert.deepEqual(onAzure.definition, onAws.definition);
    assert.equal(onAzure.definition.version, agent.version);
    assert.equal(onAzure.definition.promptVersion, agent.promptVersion);
  });

  it('routes the same alias to each cloud’s own models', () => {
    assert.equal(onAws.route[0]!.provider, 'bedrock');
    assert.deepEqual(onAzure.route.map((t) => `${t.provider}:${t.model}`), ['openai-compatible:gpt-4-1', 'anthropic:claude-sonnet-4-6']);
  });

  it('serves each trigger on each cloud: API, jobs on a queue, and the schedule', () => {
    aws.hasResourceProperties('AWS::Lambda::Function', { Timeout: agent.limits.timeoutSeconds });
    aws.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 7 ? * MON-FRI *)' });
    aws.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: Match.anyValue() }) });
    assert.equal(functionApp.app_settings.SCHEDULE_0, '0 0 7 * * 1-5');
    // Authenticated on both: IAM on AWS, an Entra ID token on Azure.
    assert.equal(functionApp.auth_settings_v2.require_authentication, true);
    assert.deepEqual(Object.values(azure.azurerm_servicebus_queue!).map((q) => [q.name, q.max_delivery_count, q.dead_lettering_on_message_expiration]), [['support', 3, true]]);
  });

  it('alerts on failed runs on both clouds, from the count the runtime emits', () => {
    aws.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RunFailures', Dimensions: Match.arrayWith([{ Name: 'agent', Value: agent.name }]) });
    const [alert] = Object.values(azure.azurerm_monitor_scheduled_query_rules_alert_v2!);
    assert.match(alert!.criteria[0].query, new RegExp(`line\\.agent\\) == "${agent.name}"[\\s\\S]*RunFailures`));
  });

  it('gives the skills the agent lists to it on both clouds, from the same index', () => {
    const azureIndex = Object.values(azure.azurerm_storage_blob!).find((b) => b.name === 'index.json')!;
    const indexed = JSON.parse(azureIndex.source_content).skills.map((s: { name: string }) => s.name).sort();
    assert.deepEqual(indexed, ['refund-requests', 'ticket-triage', 'troubleshooting'], 'the whole skills folder, as the SkillBucket holds it');
    assert.ok(agent.skills.every((skill) => indexed.includes(skill)));
  });
});
