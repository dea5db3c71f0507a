/**
 * Every import of the Terraform CDK engine and of the azurerm provider, in one module. The Azure
 * constructs import from here only, so moving from CDK for Terraform (`cdktf`,
 * `@cdktf/provider-azurerm`, deprecated upstream) to its maintained fork, CDK Terrain (`cdktn`,
 * `@cdktn/provider-azurerm`, same class names and paths), is a change to this file alone.
 * Provider classes come by deep path: the package's barrel costs seconds and hundreds of MB to load.
 */
export { App, Fn, TerraformAsset, TerraformOutput, TerraformStack, Testing, AssetType, type TerraformResource } from 'cdktf';
export { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
export { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
export { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
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
export { EventgridTopic } from '@cdktf/provider-azurerm/lib/eventgrid-topic';
export { EventgridEventSubscription } from '@cdktf/provider-azurerm/lib/eventgrid-event-subscription';
export { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
export { StorageManagementPolicy } from '@cdktf/provider-azurerm/lib/storage-management-policy';
