import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * The agents a shared resource serves, by name. Records are keyed by agent name (job and
 * idempotency keys, audit partitions), so two agents of one name on the same table or bucket would
 * read and overwrite each other's records: the second fails synth naming both.
 */
export class AgentNames {
  private readonly byName = new Map<string, string>();

  constructor(private readonly owner: IConstruct) {}

  claim(agent: string, grantee: iam.IGrantable): void {
    const where = pathOf(grantee);
    const first = this.byName.get(agent);
    if (first !== undefined && first !== where) {
      throw new Error(`${this.owner.node.path}: agent "${agent}" is defined twice on it, at ${first} and at ${where}; agents that share it need distinct names, or they read and overwrite each other's records`);
    }
    this.byName.set(agent, where);
  }
}

function pathOf(grantee: iam.IGrantable): string {
  const node = (grantee as Partial<IConstruct>).node ?? (grantee.grantPrincipal as Partial<IConstruct>).node;
  return node?.path ?? String(grantee.grantPrincipal);
}
