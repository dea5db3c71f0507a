/**
 * Every import of the Terraform CDK engine and of the azurerm provider, in one module. The Azure
 * constructs import from here only, so moving from CDK for Terraform (`cdktf`,
 * `@cdktf/provider-azurerm`, deprecated upstream) to its maintained fork, CDK Terrain (`cdktn`,
 * `@cdktn/provider-azurerm`, same class names and paths), is a change to this file alone.
 * Provider classes come by deep path: the package's barrel costs seconds and hundreds of MB to load.
 */
import { TerraformDataSource, TerraformResource, TerraformStack, type ITerraformDependable, type LocalExecProvisioner, type TerraformResourceLifecycle } from 'cdktf';
import type { Construct } from 'constructs';

export { App, Fn, Lazy, TerraformAsset, TerraformDataSource, TerraformOutput, TerraformResource, TerraformStack, Testing, Token, AssetType, type ITerraformDependable } from 'cdktf';
export { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
export { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
export { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
export { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
export { DataAzurermRoleDefinition } from '@cdktf/provider-azurerm/lib/data-azurerm-role-definition';
export { FederatedIdentityCredential } from '@cdktf/provider-azurerm/lib/federated-identity-credential';
export { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
export { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
export { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
export { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert';
export { ServicebusNamespace } from '@cdktf/provider-azurerm/lib/servicebus-namespace';
export { ServicebusQueue } from '@cdktf/provider-azurerm/lib/servicebus-queue';
export { ApplicationInsights } from '@cdktf/provider-azurerm/lib/application-insights';
export { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
export { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
export { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
export { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
export { KeyVaultSecret } from '@cdktf/provider-azurerm/lib/key-vault-secret';
export { ServicePlan } from '@cdktf/provider-azurerm/lib/service-plan';
export { LinuxFunctionApp } from '@cdktf/provider-azurerm/lib/linux-function-app';
export { LinuxFunctionAppSlot } from '@cdktf/provider-azurerm/lib/linux-function-app-slot';
export { EventgridTopic } from '@cdktf/provider-azurerm/lib/eventgrid-topic';
export { EventgridEventSubscription } from '@cdktf/provider-azurerm/lib/eventgrid-event-subscription';
export { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
export { StorageManagementPolicy } from '@cdktf/provider-azurerm/lib/storage-management-policy';
export { StorageContainerImmutabilityPolicy } from '@cdktf/provider-azurerm/lib/storage-container-immutability-policy';
export { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
export { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
export { ContainerRegistry } from '@cdktf/provider-azurerm/lib/container-registry';
export { ContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/container-app-environment';
export { ContainerApp } from '@cdktf/provider-azurerm/lib/container-app';
export { LogAnalyticsWorkspaceTableCustomLog } from '@cdktf/provider-azurerm/lib/log-analytics-workspace-table-custom-log';
export { LogAnalyticsSavedSearch } from '@cdktf/provider-azurerm/lib/log-analytics-saved-search';
export { MonitorDataCollectionEndpoint } from '@cdktf/provider-azurerm/lib/monitor-data-collection-endpoint';
export { MonitorDataCollectionRule } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule';
export { ApplicationInsightsWorkbook } from '@cdktf/provider-azurerm/lib/application-insights-workbook';
export { ConsumptionBudgetResourceGroup } from '@cdktf/provider-azurerm/lib/consumption-budget-resource-group';
export { ConsumptionBudgetSubscription } from '@cdktf/provider-azurerm/lib/consumption-budget-subscription';

/** A Terraform provider a stack requires, as `terraform.required_providers` names it. */
export interface TerraformProviderSource {
  /** The local name resource types start with: `azapi` for `azapi_resource_action`. */
  readonly name: string;
  readonly source: string;
  readonly version: string;
}

/** Azure Resource Manager actions the azurerm provider has no resource for (syncing function triggers). */
export const AZAPI_PROVIDER: TerraformProviderSource = { name: 'azapi', source: 'Azure/azapi', version: '~> 2.0' };
/** Waits, such as for a role assignment to reach the data plane. */
export const TIME_PROVIDER: TerraformProviderSource = { name: 'time', source: 'hashicorp/time', version: '~> 0.12' };
/** Entra ID app registrations. */
export const AZUREAD_PROVIDER: TerraformProviderSource = { name: 'azuread', source: 'hashicorp/azuread', version: '~> 3.0' };

export interface TerraformResourceOptions {
  /** The provider the resource type belongs to; none for Terraform's built-in `terraform_data`. */
  readonly provider?: TerraformProviderSource;
  /** The resource's arguments, as Terraform JSON spells them (snake_case, blocks as lists). */
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly dependsOn?: ITerraformDependable[];
  readonly lifecycle?: TerraformResourceLifecycle;
  /** Commands Terraform runs on the deploying machine when it creates the resource (building an image). */
  readonly provisioners?: LocalExecProvisioner[];
}

/** A resource of a type no CDK binding is installed for: its arguments go out as given. */
class UntypedResource extends TerraformResource {
  constructor(
    scope: Construct,
    id: string,
    type: string,
    private readonly attributes: Readonly<Record<string, unknown>>,
    options: Omit<TerraformResourceOptions, 'attributes' | 'provider'>,
  ) {
    // No generator metadata: with it, synth would ask for a provider construct of the type's provider.
    super(scope, id, {
      terraformResourceType: type,
      ...(options.dependsOn && { dependsOn: options.dependsOn }),
      ...(options.lifecycle && { lifecycle: options.lifecycle }),
      ...(options.provisioners && { provisioners: options.provisioners }),
    });
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { ...this.attributes };
  }
}

/** A data source of a type no CDK binding is installed for: its arguments go out as given. */
class UntypedDataSource extends TerraformDataSource {
  constructor(
    scope: Construct,
    id: string,
    type: string,
    private readonly attributes: Readonly<Record<string, unknown>>,
  ) {
    super(scope, id, { terraformResourceType: type });
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { ...this.attributes };
  }
}

const requiredProviders = new WeakMap<TerraformStack, Set<string>>();

/** Declares `provider` in the stack's `required_providers` once, for a resource or data source of `type`. */
function requireProvider(scope: Construct, id: string, type: string, provider: TerraformProviderSource): void {
  if (!type.startsWith(`${provider.name}_`)) throw new Error(`${scope.node.path}/${id}: resource type ${type} is not of provider ${provider.name}`);
  const stack = TerraformStack.of(scope);
  const declared = requiredProviders.get(stack) ?? requiredProviders.set(stack, new Set()).get(stack)!;
  if (!declared.has(provider.name)) {
    declared.add(provider.name);
    stack.addOverride(`terraform.required_providers.${provider.name}`, { source: provider.source, version: provider.version });
  }
}

/**
 * A resource of a provider this package ships no binding for (azapi, time, azuread), declared in
 * the stack's `required_providers` once, so `terraform init` fetches it. A generated binding per
 * provider would be another peer package every user installs, hundreds of MB for a few resources;
 * Terraform reads the JSON the same either way. The providers take no configuration block: they
 * sign in as the azurerm provider does (Azure CLI or `ARM_*` variables).
 */
export function terraformResource(scope: Construct, id: string, type: string, options: TerraformResourceOptions): TerraformResource {
  if (options.provider) requireProvider(scope, id, type, options.provider);
  return new UntypedResource(scope, id, type, options.attributes, options);
}

/** A data source of a provider this package ships no binding for (azuread), declared as `terraformResource` declares its provider. */
export function terraformDataSource(scope: Construct, id: string, type: string, options: { readonly provider: TerraformProviderSource; readonly attributes: Readonly<Record<string, unknown>> }): TerraformDataSource {
  requireProvider(scope, id, type, options.provider);
  return new UntypedDataSource(scope, id, type, options.attributes);
}
