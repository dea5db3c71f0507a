import { createHash } from 'node:crypto';
import type { Construct, IConstruct } from 'constructs';
import { deployer, grantScope, principalIdOf, type AzurePrincipal } from './defaults';
import { AZUREAD_PROVIDER, Fn, terraformDataSource, terraformResource, type LinuxFunctionApp, type TerraformDataSource, type TerraformResource } from './engine';
import { AzureSecureDefaults } from './secure-defaults';

/**
 * Who may call the agent's HTTP routes.
 * - `entra-id` (the default): App Service authentication lets in only requests with an Entra ID
 *   token for the agent's app registration. Name the registration with `clientId` (and `tenantId`
 *   when it is not the deploying identity's tenant), or leave them out and one is created, with an
 *   `Agent.Invoke` app role tokens are issued only to callers assigned.
 * - `function-keys`: whoever holds a function or host key (`x-functions-key`), a shared secret
 *   that names no caller; only with the reason that is enough.
 * - `anonymous`: anyone, only with the reason that is safe (a private endpoint, a gateway in front).
 */
export type AzureHttpAuth =
  | { readonly type: 'entra-id'; readonly clientId?: string; readonly tenantId?: string; readonly allowedAudiences?: readonly string[] }
  | { readonly type: 'function-keys'; readonly reason: string }
  | { readonly type: 'anonymous'; readonly reason: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What is wrong with an auth setting, as `field: message` lines. */
export function httpAuthProblems(auth: AzureHttpAuth): string[] {
  switch (auth.type) {
    case 'entra-id':
      return [
        ...(auth.clientId !== undefined && !GUID.test(auth.clientId) ? [`auth.clientId: must be the app registration's client id (a GUID), got "${auth.clientId}"`] : []),
        ...(auth.tenantId !== undefined && !GUID.test(auth.tenantId) ? [`auth.tenantId: must be the tenant id (a GUID), got "${auth.tenantId}"`] : []),
      ];
    case 'function-keys':
      return (auth.reason ?? '').trim().length < 10 ? ['auth: function keys name no caller and are shared secrets; choosing them needs the reason they are enough here'] : [];
    case 'anonymous':
      return (auth.reason ?? '').trim().length < 10 ? ['auth: an anonymous entry point needs the reason it is safe'] : [];
  }
}

/** The HTTP auth of an agent's app: its auth level setting, and App Service authentication. */
export interface HttpAuthSettings {
  /** The functions' auth level: the routes' keys, or none behind App Service authentication. */
  readonly authLevel: 'function' | 'anonymous' | 'admin';
  readonly authSettingsV2?: NonNullable<ConstructorParameters<typeof LinuxFunctionApp>[2]['authSettingsV2']>;
  /** The audience a caller requests a token for, under Entra ID. */
  readonly tokenAudience?: string;
  /** The app registration behind the routes, under Entra ID: the one callers get `Agent.Invoke` of. */
  readonly registration?: AgentRegistration;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * The settings that put `auth` in front of an agent's routes. `servesHttp` is false for an agent
 * with no `api` or `job` trigger: with no route to protect, it gets no app registration.
 */
export function httpAuthSettings(scope: Construct, agentName: string, appName: string, auth: AzureHttpAuth | undefined, servesHttp: boolean): HttpAuthSettings {
  if (!auth && !servesHttp) return { authLevel: 'admin' };
  const chosen = auth ?? { type: 'entra-id' };
  switch (chosen.type) {
    case 'function-keys':
      return { authLevel: 'function', tags: { 'serverless-agents-function-keys-reason': chosen.reason } };
    case 'anonymous':
      return { authLevel: 'anonymous', tags: { 'serverless-agents-anonymous-reason': chosen.reason } };
    case 'entra-id': {
      const tenantId = chosen.tenantId ?? deployer(scope).tenantId;
      const registration: AgentRegistration = chosen.clientId ? { clientId: chosen.clientId, identifierUri: `api://${chosen.clientId}` } : appRegistration(scope, agentName, appName, tenantId);
      const allowedAudiences = [...(chosen.allowedAudiences ?? [registration.identifierUri])];
      return {
        authLevel: 'anonymous',
        tokenAudience: allowedAudiences[0]!,
        registration,
        authSettingsV2: {
          authEnabled: true,
          requireAuthentication: true,
          unauthenticatedAction: 'Return401',
          requireHttps: true,
          defaultProvider: 'azureactivedirectory',
          // Event Grid delivers with the function's system key and no Entra ID token.
          excludedPaths: ['/runtime/webhooks/eventgrid'],
          // The client id is an allowed audience too: v2 tokens carry it as their audience.
          activeDirectoryV2: { clientId: registration.clientId, tenantAuthEndpoint: `https://login.microsoftonline.com/${tenantId}/v2.0`, allowedAudiences },
          login: { tokenStoreEnabled: false },
        },
      };
    }
  }
}

/** The app role a caller must be assigned to get a token for an agent whose registration is created here. */
export const INVOKE_APP_ROLE = 'Agent.Invoke';

/**
 * An agent's app registration. One created here knows its service principal and `Agent.Invoke`
 * role; one named by `clientId` is looked up in Entra ID when a caller is given its role.
 */
export interface AgentRegistration {
  readonly clientId: string;
  readonly identifierUri: string;
  readonly servicePrincipalId?: string;
  readonly invokeRoleId?: string;
}

/**
 * Gives an identity the `Agent.Invoke` app role of an agent's registration, so Entra ID issues it
 * tokens for the agent. A registration named by `clientId` must define that role.
 */
export function assignInvokeRole(scope: Construct, id: string, registration: AgentRegistration, principal: AzurePrincipal): TerraformResource {
  let { servicePrincipalId, invokeRoleId } = registration;
  if (!servicePrincipalId || !invokeRoleId) {
    const lookup = (scope.node.tryFindChild('AppServicePrincipalLookup') as TerraformDataSource | undefined) ??
      terraformDataSource(scope, 'AppServicePrincipalLookup', 'azuread_service_principal', { provider: AZUREAD_PROVIDER, attributes: { client_id: registration.clientId } });
    servicePrincipalId = lookup.getStringAttribute('object_id');
    invokeRoleId = Fn.lookup(lookup.getStringMapAttribute('app_role_ids'), INVOKE_APP_ROLE) as string;
  }
  return terraformResource(grantScope(scope, principal), id, 'azuread_app_role_assignment', {
    provider: AZUREAD_PROVIDER,
    attributes: { app_role_id: invokeRoleId, principal_object_id: principalIdOf(principal), resource_object_id: servicePrincipalId },
  });
}

/**
 * An app registration for one agent, owned by the deploying identity: the audience its callers'
 * tokens name. Its identifier URI is `api://<tenant id>/<app name>`, a form tenants that restrict
 * custom identifier URIs still accept, unique because the app name is. Its service principal
 * requires an app role assignment, so Entra ID issues tokens only to callers given `Agent.Invoke`,
 * not to every identity in the tenant.
 */
function appRegistration(scope: Construct, agentName: string, appName: string, tenantId: string): Required<AgentRegistration> {
  const owner = deployer(scope).objectId;
  const identifierUri = `api://${tenantId}/${appName}`;
  const invokeRoleId = stableUuid(`${scope.node.path}/${INVOKE_APP_ROLE}`);
  const application = terraformResource(scope, 'AppRegistration', 'azuread_application', {
    provider: AZUREAD_PROVIDER,
    attributes: {
      display_name: `${appName} (agent ${agentName})`,
      sign_in_audience: 'AzureADMyOrg',
      identifier_uris: [identifierUri],
      owners: [owner],
      // v2 tokens: their issuer is the v2.0 endpoint App Service authentication is set up with.
      api: [{ requested_access_token_version: 2 }],
      app_role: [
        {
          id: invokeRoleId,
          value: INVOKE_APP_ROLE,
          display_name: `Invoke agent ${agentName}`,
          description: `Run agent ${agentName} and read its jobs`,
          allowed_member_types: ['Application', 'User'],
          enabled: true,
        },
      ],
    },
  });
  const clientId = application.getStringAttribute('client_id');
  const principal = terraformResource(scope, 'AppServicePrincipal', 'azuread_service_principal', {
    provider: AZUREAD_PROVIDER,
    attributes: { client_id: clientId, app_role_assignment_required: true, owners: [owner] },
  });
  return { clientId, identifierUri, servicePrincipalId: principal.getStringAttribute('object_id'), invokeRoleId };
}

/** A UUID that stays the same from one synth to the next, as an app role id must. */
function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Records a keys or anonymous choice beside the secure-default finding it accepts, with its reason. */
export function acknowledgeHttpAuth(app: IConstruct, auth: AzureHttpAuth | undefined): void {
  if (auth?.type === 'anonymous') AzureSecureDefaults.acknowledge(app, 'AzureSecure-FunctionAnonymous', auth.reason);
  if (auth?.type === 'function-keys') AzureSecureDefaults.acknowledge(app, 'AzureSecure-FunctionKeys', auth.reason);
}
