import type { Construct } from 'constructs';
import { AZAPI_PROVIDER, Fn, terraformResource, type LinuxFunctionApp, type TerraformResource } from './engine';

/** The ARM API version the sync is called with. */
const SITES_API = 'Microsoft.Web/sites@2022-03-01';

/**
 * Asks Azure to read a Function App's functions again, after every deploy that changes them. A
 * Consumption app that runs from a package URL learns of its functions only when its host starts,
 * and the platform wakes an idle app for Service Bus messages, timers and Event Grid deliveries
 * only for functions it was told about: without a sync after Terraform sets a new package or new
 * settings, those triggers may never fire. The portal, `az functionapp deployment` and Core Tools
 * sync after a deploy; Terraform does not, so this does: `syncfunctiontriggers` is called once
 * when the app is created and again whenever the package URL or the app settings change.
 */
export function syncTriggers(scope: Construct, app: LinuxFunctionApp, packageUrl: string): TerraformResource {
  // Replacing this replaces the sync below, which runs the action again.
  const deployed = terraformResource(scope, 'Deployed', 'terraform_data', {
    attributes: { triggers_replace: { package: packageUrl, settings: Fn.sha256(Fn.jsonencode(app.appSettings)) } },
  });
  return terraformResource(scope, 'TriggerSync', 'azapi_resource_action', {
    provider: AZAPI_PROVIDER,
    attributes: { type: SITES_API, resource_id: app.id, action: 'syncfunctiontriggers', method: 'POST' },
    lifecycle: { replaceTriggeredBy: [deployed] },
  });
}
