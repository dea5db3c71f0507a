import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AzureGitHubDeployIdentity, assignableOnly, type AzureGitHubDeployIdentityProps } from '../../constructs/azure/github-deploy-identity';
import { AZURE_ASSIGNED_ROLES, assignRole } from '../../constructs/azure/defaults';
import { AzurermProvider, TerraformStack, Testing } from '../../constructs/azure/engine';
import { ACKNOWLEDGMENTS_KEY, secureDefaultFindings, type SynthesizedStack } from '../../constructs/azure/secure-defaults';

type Synthesized = SynthesizedStack & { resource: Record<string, Record<string, Record<string, any>>>; data: Record<string, Record<string, Record<string, any>>> };

function synth(props: Partial<AzureGitHubDeployIdentityProps> = {}): Synthesized {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'delivery');
  new AzurermProvider(stack, 'Azure', { features: [{}] });
  new AzureGitHubDeployIdentity(stack, 'GitHub', { repository: 'acme/agents', environments: ['dev', 'prod'], resourceGroupName: 'delivery', location: 'westeurope', deployInto: ['agents-dev', 'agents-prod'], ...props });
  // With the secure-default checks, which fail synth on an unacknowledged finding.
  Testing.synth(stack, true);
  return stack.toTerraform() as Synthesized;
}

const values = (s: Synthesized, type: string) => Object.values(s.resource[type] ?? {});

describe('AzureGitHubDeployIdentity', () => {
  const out = synth();

  it('admits exactly the tokens of the named environments of the one repository', () => {
    const credentials = values(out, 'azurerm_federated_identity_credential');
    assert.deepEqual(credentials.map((c) => c.subject).sort(), ['repo:acme/agents:environment:dev', 'repo:acme/agents:environment:prod']);
    for (const c of credentials) {
      assert.equal(c.issuer, 'https://token.actions.githubusercontent.com');
      assert.deepEqual(c.audience, ['api://AzureADTokenExchange']);
      assert.match(c.parent_id, /azurerm_user_assigned_identity\.GitHub_Identity_\w+\.id/);
    }
    assert.ok(!credentials.some((c) => String(c.subject).includes('*')), 'a subject is matched exactly');
  });

  it('is Contributor where it deploys, and may assign only the roles the constructs assign', () => {
    const roles = values(out, 'azurerm_role_assignment').map((r) => [r.role_definition_name, String(r.scope).replace(/\$\{[^}]+\}/, 'SUB')]);
    assert.deepEqual(roles.sort(), [
      ['Contributor', '/subscriptions/SUB/resourceGroups/agents-dev'],
      ['Contributor', '/subscriptions/SUB/resourceGroups/agents-prod'],
      ['Role Based Access Control Administrator', '/subscriptions/SUB/resourceGroups/agents-dev'],
      ['Role Based Access Control Administrator', '/subscriptions/SUB/resourceGroups/agents-prod'],
    ]);
    const admin = values(out, 'azurerm_role_assignment').find((r) => r.role_definition_name === 'Role Based Access Control Administrator')!;
    assert.equal(admin.condition_version, '2.0');
    const lookups = Object.entries(out.data.azurerm_role_definition!);
    assert.deepEqual(lookups.map(([, d]) => d.name).sort(), [...AZURE_ASSIGNED_ROLES].sort());
    for (const [id] of lookups) assert.ok(String(admin.condition).includes(`data.azurerm_role_definition.${id}.role_definition_id`), id);
    assert.ok(!/Owner'|User Access Administrator/.test(admin.condition), 'nothing broader');
    assert.deepEqual(secureDefaultFindings(out).map((f) => f.rule), Array(4).fill('AzureSecure-BroadRoleScope'));
    const acknowledged = (out as unknown as { '//': Record<string, { rule: string; reason: string }[]> })['//'][ACKNOWLEDGMENTS_KEY]!;
    assert.equal(acknowledged.filter((a) => a.rule === 'AzureSecure-BroadRoleScope' && /^The deployment identity creates the stacks' resources and their role assignments in resource group agents-(dev|prod)/.test(a.reason)).length, 4, 'each broad grant acknowledged with its reason');
  });

  it('gets the Graph permissions agents behind Entra ID and role groups need, and the role-definition right fleets need when asked', () => {
    assert.deepEqual(values(out, 'azuread_app_role_assignment').map((a) => /app_role_ids\["([A-Za-z.]+)"\]/.exec(String(a.app_role_id))?.[1]).sort(), ['Application.ReadWrite.OwnedBy', 'Group.Create']);
    assert.equal(Object.values(out.data.azuread_service_principal!)[0]!.client_id, '00000003-0000-0000-c000-000000000000', 'Microsoft Graph');
    assert.equal(values(out, 'azurerm_role_definition').length, 0);
    const fleets = synth({ definesRoles: true, graphPermissions: [] });
    assert.equal(values(fleets, 'azuread_app_role_assignment').length, 0);
    const writers = values(fleets, 'azurerm_role_definition');
    assert.equal(writers.length, 2);
    assert.deepEqual(writers[0]!.permissions[0].actions, ['Microsoft.Authorization/roleDefinitions/read', 'Microsoft.Authorization/roleDefinitions/write', 'Microsoft.Authorization/roleDefinitions/delete']);
  });

  it('writes the delegation condition in the form Azure documents, and refuses bad input', () => {
    const condition = assignableOnly(['a1', 'b2']);
    assert.match(condition, /@Request\[Microsoft\.Authorization\/roleAssignments:RoleDefinitionId\] ForAnyOfAnyValues:GuidEquals \{a1, b2\}/);
    assert.match(condition, /@Resource\[Microsoft\.Authorization\/roleAssignments:RoleDefinitionId\] ForAnyOfAnyValues:GuidEquals \{a1, b2\}/);
    assert.throws(() => synth({ repository: 'agents' }), /repository: must be OWNER\/NAME/);
    assert.throws(() => synth({ environments: [] }), /environments: name at least one GitHub environment/);
    assert.throws(() => synth({ environments: ['prod*'] }), /environments\[0\]: "prod\*" must be letters/);
    assert.throws(() => synth({ environments: Array.from({ length: 21 }, (_, i) => `e${i}`) }), /more than the 20 federated credentials Azure allows/);
  });

  it('keeps the assignable list whole: a construct assigning a role not on it fails at synth', () => {
    const stack = new TerraformStack(Testing.app(), 'x');
    assert.throws(() => assignRole(stack, 'Owner', 'scope', 'Owner', 'principal'), /role "Owner" is not in AZURE_ASSIGNED_ROLES; add it there, so a delivery identity may assign it/);
  });
});
