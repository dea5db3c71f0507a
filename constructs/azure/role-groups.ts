import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { useRoleGroups, type RoleGroupSink } from './defaults';
import { AZUREAD_PROVIDER, Lazy, RoleAssignment, terraformResource, TerraformStack, type TerraformResource, type UserAssignedIdentity } from './engine';

export interface AzureRoleGroupsProps {
  /** What the groups' display names start with, so a directory's reader knows whose they are. */
  readonly namePrefix: string;
}

/**
 * The roles a stack's agents are given on resources of other stacks (the platform's Key Vault
 * secrets, skills, topic, runtime package, telemetry), held by Entra ID security groups instead of
 * one role assignment per agent: Azure allows 4000 role assignments in a subscription, and a
 * hundred agents that each read the same runtime package would otherwise take a hundred. One
 * group per resource and role, with exactly the identities given that role as members, so least
 * privilege is as exact as with an assignment each. The deploying identity needs Microsoft Graph
 * `Group.Create` (or the Groups Administrator role) and owns the groups it creates. A membership
 * reaches a running identity when its token renews, which for a managed identity may be up to 24 h
 * (a new agent's first token already carries it).
 */
export class AzureRoleGroups extends Construct implements RoleGroupSink {
  private readonly groups = new Map<string, Group>();

  constructor(
    scope: Construct,
    id: string,
    private readonly props: AzureRoleGroupsProps,
  ) {
    super(scope, id);
    useRoleGroups(TerraformStack.of(this), this);
  }

  join(owner: Construct, resourceId: string, role: string, principal: UserAssignedIdentity): TerraformResource {
    const entry = this.groupFor(owner, resourceId, role);
    if (!entry.members.includes(principal)) entry.members.push(principal);
    // What the identity waits for: the group's role, assigned once the group (with its members) is.
    return entry.assignment;
  }

  private groupFor(owner: Construct, resourceId: string, role: string): Group {
    // `owner` declares the resource: one group per resource and role.
    const key = createHash('sha256').update(`${owner.node.path}\n${role}`).digest('hex').slice(0, 12);
    let entry = this.groups.get(key);
    if (!entry) {
      const members: UserAssignedIdentity[] = [];
      const slug = role.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      const group = terraformResource(this, `Group-${key}`, 'azuread_group', {
        provider: AZUREAD_PROVIDER,
        attributes: {
          display_name: `${this.props.namePrefix} ${slug} ${key}`,
          description: `${role} on ${owner.node.path}, for the agents of ${TerraformStack.of(this).node.id} given it`,
          security_enabled: true,
          mail_enabled: false,
          // Exactly the identities given the role: one list, so the stack holds no resource per membership.
          members: Lazy.listValue({ produce: () => members.map((m) => m.principalId) }),
        },
      });
      const assignment = new RoleAssignment(this, `Role-${key}`, { scope: resourceId, roleDefinitionName: role, principalId: group.getStringAttribute('object_id'), principalType: 'Group' });
      entry = { group, assignment, members };
      this.groups.set(key, entry);
    }
    return entry;
  }
}

interface Group {
  readonly group: TerraformResource;
  readonly assignment: RoleAssignment;
  readonly members: UserAssignedIdentity[];
}
