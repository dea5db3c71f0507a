import { Construct } from 'constructs';
import { GITHUB_OIDC_ISSUER, githubRepositoryProblem, githubSubject } from '../../contract/delivery/github';
import { AZURE_ASSIGNED_ROLES, deployer, globalName } from './defaults';
import {
  AZUREAD_PROVIDER,
  FederatedIdentityCredential,
  Fn,
  RoleAssignment,
  RoleDefinition,
  terraformDataSource,
  terraformResource,
  DataAzurermRoleDefinition,
  UserAssignedIdentity,
  type TerraformResource,
} from './engine';
import { AzureSecureDefaults } from './secure-defaults';

/** The audience Entra ID's token exchange expects. */
const EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
/** Microsoft Graph's application id, the same in every tenant. */
const MICROSOFT_GRAPH = '00000003-0000-0000-c000-000000000000';

export interface AzureGitHubDeployIdentityProps {
  /** `owner/name` of the repository whose workflows may deploy. */
  readonly repository: string;
  /** The GitHub environments whose jobs may log in as the identity, one federated credential each (Azure allows 20). */
  readonly environments: readonly string[];
  /** Where the identity lives. */
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * The resource groups the workflow deploys into, by name, in the deploying subscription.
   * @default the identity's own
   */
  readonly deployInto?: readonly string[];
  /**
   * Entra ID rights the deployment needs (Microsoft Graph application permissions): agents behind
   * Entra ID get an app registration each (`Application.ReadWrite.OwnedBy`), a fleet's role groups
   * are created (`Group.Create`). Granting them needs an administrator with the Privileged Role
   * Administrator role to apply this stack.
   * @default both
   */
  readonly graphPermissions?: readonly ('Application.ReadWrite.OwnedBy' | 'Group.Create')[];
  /**
   * The workflow deploys fleets, whose shards define a custom role each (`AzureAgentStorage`):
   * it may then write role definitions in the groups it deploys into.
   * @default false
   */
  readonly definesRoles?: boolean;
  /** Custom roles it may assign besides the built-in ones the constructs assign, by their role definition GUIDs. */
  readonly assignableRoleIds?: readonly string[];
}

const ENVIRONMENT = /^[A-Za-z0-9._-]{1,120}$/;

/**
 * The identity a GitHub Actions workflow deploys the Azure stacks with (`azure/login` with its
 * client id, no secret): a user-assigned identity whose federated credentials admit exactly
 * `repo:OWNER/NAME:environment:ENV` tokens of the named environments. In the groups it deploys
 * into it is Contributor (creates the resources), and Role Based Access Control Administrator only
 * for the built-in roles the constructs assign (`AZURE_ASSIGNED_ROLES`) and the custom roles named,
 * by an ABAC condition on what it may assign or remove: it cannot make itself, or anyone, Owner.
 */
export class AzureGitHubDeployIdentity extends Construct {
  readonly identity: UserAssignedIdentity;
  readonly credentials: FederatedIdentityCredential[];
  readonly roles: TerraformResource[] = [];

  constructor(scope: Construct, id: string, props: AzureGitHubDeployIdentityProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const problems: string[] = [];
    const repository = githubRepositoryProblem(props.repository);
    if (repository) problems.push(repository);
    if (!props.environments.length) problems.push('environments: name at least one GitHub environment');
    if (props.environments.length > 20) problems.push(`environments: ${props.environments.length} names, more than the 20 federated credentials Azure allows an identity`);
    props.environments.forEach((e, i) => {
      if (!ENVIRONMENT.test(e)) problems.push(`environments[${i}]: "${e}" must be letters, digits, ".", "_" or "-" (a federated credential's subject is matched exactly)`);
    });
    if (problems.length) throw new Error(`AzureGitHubDeployIdentity ${this.node.path}: ${problems.join('; ')}`);

    const location = { resourceGroupName: props.resourceGroupName, location: props.location };
    this.identity = new UserAssignedIdentity(this, 'Identity', { name: globalName(this, 60), ...location });
    this.credentials = props.environments.map(
      (environment) =>
        new FederatedIdentityCredential(this, `GitHub-${environment}`, {
          name: `github-${environment}`,
          resourceGroupName: props.resourceGroupName,
          parentId: this.identity.id,
          issuer: `https://${GITHUB_OIDC_ISSUER}`,
          audience: [EXCHANGE_AUDIENCE],
          subject: githubSubject(props.repository, environment),
        }),
    );

    const subscription = deployer(this).subscriptionId;
    const groups = [...new Set(props.deployInto ?? [props.resourceGroupName])].map((name) => ({ name, id: `/subscriptions/${subscription}/resourceGroups/${name}` }));
    // The GUIDs of the roles it may hand out, read from Azure by name.
    const assignable = [...AZURE_ASSIGNED_ROLES.map((name) => new DataAzurermRoleDefinition(this, `Assignable-${name.replace(/[^A-Za-z]/g, '')}`, { name }).roleDefinitionId), ...(props.assignableRoleIds ?? [])];
    for (const group of groups) {
      const assign = (role: string, extra: Partial<ConstructorParameters<typeof RoleAssignment>[2]> = {}) => {
        const assignment = new RoleAssignment(this, `${role.replace(/[^A-Za-z]/g, '')}-${group.name}`, { scope: group.id, roleDefinitionName: role, principalId: this.identity.principalId, principalType: 'ServicePrincipal', ...extra });
        AzureSecureDefaults.acknowledge(assignment, 'AzureSecure-BroadRoleScope', `The deployment identity creates the stacks' resources and their role assignments in resource group ${group.name}, so it holds its roles there; only jobs of the named GitHub environments can log in as it.`);
        this.roles.push(assignment);
        return assignment;
      };
      assign('Contributor');
      assign('Role Based Access Control Administrator', { conditionVersion: '2.0', condition: assignableOnly(assignable) });
      if (props.definesRoles) {
        const writer = new RoleDefinition(this, `RoleWriter-${group.name}`, {
          name: `${globalName(this, 50, group.name)} role definitions`,
          scope: group.id,
          description: 'Writes the custom roles a fleet\'s shards define for their agents\' state.',
          permissions: [{ actions: ['Microsoft.Authorization/roleDefinitions/read', 'Microsoft.Authorization/roleDefinitions/write', 'Microsoft.Authorization/roleDefinitions/delete'] }],
          assignableScopes: [group.id],
        });
        const assignment = new RoleAssignment(this, `RoleWriter-${group.name}-Assignment`, { scope: group.id, roleDefinitionId: writer.roleDefinitionResourceId, principalId: this.identity.principalId, principalType: 'ServicePrincipal' });
        AzureSecureDefaults.acknowledge(assignment, 'AzureSecure-BroadRoleScope', `A fleet's shards define their agents' state role in resource group ${group.name}, whose definitions the deployment identity writes there; only jobs of the named GitHub environments can log in as it.`);
        this.roles.push(assignment);
      }
    }

    const permissions = props.graphPermissions ?? ['Application.ReadWrite.OwnedBy', 'Group.Create'];
    if (permissions.length) {
      const graph = terraformDataSource(this, 'MicrosoftGraph', 'azuread_service_principal', { provider: AZUREAD_PROVIDER, attributes: { client_id: MICROSOFT_GRAPH } });
      for (const permission of permissions) {
        this.roles.push(
          terraformResource(this, `Graph-${permission.replace(/[^A-Za-z]/g, '')}`, 'azuread_app_role_assignment', {
            provider: AZUREAD_PROVIDER,
            attributes: { app_role_id: Fn.lookup(graph.getStringMapAttribute('app_role_ids'), permission), principal_object_id: this.identity.principalId, resource_object_id: graph.getStringAttribute('object_id') },
          }),
        );
      }
    }
  }

  /** What the workflow's `azure/login` step takes as `client-id`. */
  get clientId(): string {
    return this.identity.clientId;
  }
}

/**
 * An ABAC condition on Role Based Access Control Administrator: it may create and delete role
 * assignments only of the roles `roleIds` names (GUIDs), Azure's documented way to delegate
 * assignments without letting the delegate grant Owner or itself more.
 */
export function assignableOnly(roleIds: readonly string[]): string {
  const set = `{${roleIds.join(', ')}}`;
  return [
    '(',
    " (!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'}))",
    ' OR',
    ` (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals ${set})`,
    ')',
    'AND',
    '(',
    " (!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'}))",
    ' OR',
    ` (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals ${set})`,
    ')',
  ].join('\n');
}
