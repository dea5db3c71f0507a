import type { Construct } from 'constructs';
import { AzureAgentEvents } from '../../constructs/azure/agent-events';
import { AzureAgentContainer, type AzureAgentContainerProps } from '../../constructs/azure/agent-container';
import { AzureAgentFunction, type AzureAgentFunctionProps } from '../../constructs/azure/agent-function';
import { AzureContainerEnvironment } from '../../constructs/azure/container-environment';
import { AzureAgentQueue, AzureServiceBus } from '../../constructs/azure/agent-queue';
import { ServicePlan, Testing } from '../../constructs/azure/engine';
import { AzureModelRouter } from '../../constructs/azure/model-router';
import { AzureObservability } from '../../constructs/azure/observability';
import { AzureRuntimePackage } from '../../constructs/azure/runtime-package';
import { AzureSecrets } from '../../constructs/azure/secrets';
import { AzureSkillStore } from '../../constructs/azure/skill-store';
import type { RouterConfig } from '../../contract/routing/config';
import { SKILLS } from '../helpers';

/** Synthesized Terraform resources by type, then by logical id. */
export type Resources = Record<string, Record<string, Record<string, any>>>;

export function synthAzure(build: (scope: Construct) => void): Resources {
  return (JSON.parse(Testing.synthScope(build)) as { resource: Resources }).resource;
}

/** The single resource of a type; fails the test when there are none or several. */
export function single(resources: Resources, type: string): Record<string, any> {
  const all = Object.values(resources[type] ?? {});
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0]!;
}

/** Role assignments as `role @ scope` lines, sorted, for whole-set assertions. */
export function roleAssignments(resources: Resources): string[] {
  return Object.values(resources.azurerm_role_assignment ?? {})
    .map((r) => `${r.role_definition_name} @ ${r.scope}`)
    .sort();
}

/** Model routing Azure can reach: an Azure OpenAI deployment first, the Anthropic API behind it. */
export const AZURE_ROUTER: RouterConfig = {
  aliases: {
    smart: [
      { provider: 'azure-openai', resource: 'agents-openai', deployment: 'gpt-4-1', apiKeySecret: 'azure-openai-api-key' },
      { provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'anthropic-api-key' },
    ],
    fast: [{ provider: 'azure-openai', resource: 'agents-openai', deployment: 'gpt-4-1-mini', apiKeySecret: 'azure-openai-api-key' }],
  },
  cohorts: { research: { smart: [{ provider: 'bedrock', model: 'anthropic.claude-opus-4-1-20250805-v1:0' }] } },
  prices: { 'gpt-4-1': { inputPerMTok: 2, outputPerMTok: 8 } },
};

const LOCATION = { resourceGroupName: 'agents', location: 'westeurope' };

/** An AzureAgentFunction with every construct it can use, as a stack wires them. */
export function azureAgent(scope: Construct, props: Partial<AzureAgentFunctionProps> & Pick<AzureAgentFunctionProps, 'agent'>, options: { planSku?: string } = {}): AzureAgentFunction {
  const secrets = new AzureSecrets(scope, 'Secrets', { name: 'agents-vault', ...LOCATION });
  const bus = new AzureServiceBus(scope, 'Bus', { name: 'agents-bus', ...LOCATION });
  return new AzureAgentFunction(scope, 'Agent', {
    ...LOCATION,
    plan: new ServicePlan(scope, 'Plan', { name: 'agents-plan', ...LOCATION, osType: 'Linux', skuName: options.planSku ?? 'Y1' }),
    runtime: new AzureRuntimePackage(scope, 'Runtime', LOCATION),
    observability: new AzureObservability(scope, 'Observability', { name: 'agents', ...LOCATION }),
    router: new AzureModelRouter(scope, 'Models', { models: AZURE_ROUTER, secrets }),
    skills: new AzureSkillStore(scope, 'Skills', { path: SKILLS, ...LOCATION }),
    queue: new AzureAgentQueue(scope, 'Queue', { bus, agent: 'helper', timeoutSeconds: 120 }),
    events: new AzureAgentEvents(scope, 'Events', { name: 'agents-events', ...LOCATION }),
    ...props,
  });
}

/** An AzureAgentContainer on the same constructs as `azureAgent`, under the same ids, so their grants compare line by line. */
export function azureContainerAgent(scope: Construct, props: Partial<AzureAgentContainerProps> & Pick<AzureAgentContainerProps, 'agent'>): AzureAgentContainer {
  const secrets = new AzureSecrets(scope, 'Secrets', { name: 'agents-vault', ...LOCATION });
  const bus = new AzureServiceBus(scope, 'Bus', { name: 'agents-bus', ...LOCATION });
  const observability = new AzureObservability(scope, 'Observability', { name: 'agents', ...LOCATION });
  return new AzureAgentContainer(scope, 'Agent', {
    ...LOCATION,
    environment: new AzureContainerEnvironment(scope, 'Containers', { name: 'agents-containers', ...LOCATION, observability }),
    observability,
    router: new AzureModelRouter(scope, 'Models', { models: AZURE_ROUTER, secrets }),
    skills: new AzureSkillStore(scope, 'Skills', { path: SKILLS, ...LOCATION }),
    queue: new AzureAgentQueue(scope, 'Queue', { bus, agent: 'helper', timeoutSeconds: 120 }),
    events: new AzureAgentEvents(scope, 'Events', { name: 'agents-events', ...LOCATION }),
    ...props,
  });
}
