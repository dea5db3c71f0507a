import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import { AgentDefinitionError, type AgentDefinition } from '../../contract/definition/define';
import { secretSetting } from '../../contract/config/settings';
import { type ModelPrice, type ModelTargetConfig } from '../../contract/config/runtime-config';
import { aliasesFor, parseRouterConfig, pricesFor, resolveModel, toRuntimeTarget, type RouterConfig, type RouterPolicy } from '../../contract/routing/config';
import type { TerraformResource } from './engine';
import type { AzureSecrets } from './secrets';

export interface AzureModelRouterProps {
  /** Aliases, cohorts, providers and prices: the same shape as the AWS ModelRouter reads. */
  readonly models: RouterConfig;
  /** The vault holding every API key the targets name. */
  readonly secrets: AzureSecrets;
}

/** Key Vault secret names: letters, digits and hyphens only. */
const KEY_VAULT_SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

/**
 * Model routing on Azure: the same aliases and cohorts as on AWS, over the targets Azure can
 * reach — Azure OpenAI deployments, the Anthropic API and OpenAI-compatible endpoints. API keys
 * live in Key Vault; each agent's identity may read the keys of its own route and no other, and
 * the function reads them as Key Vault references. Creates no resources itself.
 */
export class AzureModelRouter extends Construct {
  readonly policy: RouterPolicy;
  private readonly secrets: AzureSecrets;

  constructor(scope: Construct, id: string, props: AzureModelRouterProps) {
    super(scope, id);
    this.policy = parseRouterConfig(props.models, `AzureModelRouter ${this.node.path}`);
    this.secrets = props.secrets;
  }

  aliases(cohort = 'default'): string[] {
    return aliasesFor(this.policy, cohort);
  }

  /**
   * The ordered targets `agent` runs on, as the runtime reads them. Bedrock needs AWS credentials
   * an Azure function does not have, and a key name Key Vault cannot hold would fail at deploy:
   * both fail synth here, naming the agent and the target.
   */
  route(agent: AgentDefinition): readonly ModelTargetConfig[] {
    const targets = resolveModel(this.policy, agent);
    const problems = targets.flatMap((t, i) => {
      const where = `model: "${typeof agent.model === 'string' ? agent.model : t.provider}" target ${i + 1}`;
      if (t.provider === 'bedrock' || t.provider === 'bedrock-inference-profile') {
        return [`${where} is ${t.provider}, which Azure cannot call; route the cohort "${agent.cohort}" to azure-openai, anthropic or openai-compatible targets`];
      }
      if (t.apiKeySecret && !KEY_VAULT_SECRET_NAME.test(t.apiKeySecret)) return [`${where}: apiKeySecret "${t.apiKeySecret}" is not a Key Vault secret name (letters, digits and hyphens)`];
      return [];
    });
    if (problems.length) throw new AgentDefinitionError(agent.name, problems);
    return targets.map(toRuntimeTarget);
  }

  prices(route: readonly ModelTargetConfig[]): Readonly<Record<string, ModelPrice>> {
    return pricesFor(this.policy, route.map((t) => t.model));
  }

  /** The app settings that carry the route's API keys: one Key Vault reference per secret. */
  settings(route: readonly ModelTargetConfig[]): Record<string, string> {
    return Object.fromEntries(secretsOf(route).map((name) => [secretSetting(name), this.secrets.reference(name)]));
  }

  /**
   * The route's API keys for a host that reads Key Vault itself (a container app's secrets): the
   * setting the runtime reads each key from, and the secret's versionless id, so a new value is
   * picked up without a deploy.
   */
  keyVaultSecrets(route: readonly ModelTargetConfig[]): { readonly setting: string; readonly secretId: string }[] {
    return secretsOf(route).map((name) => ({ setting: secretSetting(name), secretId: this.secrets.secret(name).versionlessId }));
  }

  /** Lets `principalId` read the route's secrets, each on its own, and nothing else in the vault. */
  grantRead(route: readonly ModelTargetConfig[], principal: AzurePrincipal, id: string): TerraformResource[] {
    return secretsOf(route).map((name) => this.secrets.grantRead(principal, name, `${id}-${name}`));
  }
}

function secretsOf(route: readonly ModelTargetConfig[]): string[] {
  return [...new Set(route.flatMap((t) => ('apiKeySecret' in t && t.apiKeySecret ? [t.apiKeySecret] : [])))];
}
