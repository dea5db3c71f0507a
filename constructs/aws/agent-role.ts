import { CfnElement, Reference, Stack, Tokenization } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * An agent's execution role that keeps every grant in one inline policy instead of a separate
 * AWS::IAM::Policy resource: one resource less per agent, and the permissions exist before the
 * function that uses them. Grants still arrive through the usual `grant*` methods. In a stack with
 * shared statements (`SharedStatements`, as AgentFleet's shards have), a grant that names nothing
 * of the agent's own goes to a managed policy the agents given the same statement share.
 */
export class AgentRole extends iam.Role {
  private readonly document: iam.PolicyDocument;

  /** `service`: who runs the agent and assumes the role (Lambda, ECS tasks, AgentCore); `agent`: whose role it is. */
  constructor(
    scope: Construct,
    id: string,
    description: string,
    service = 'lambda.amazonaws.com',
    readonly agent?: string,
  ) {
    const document = new iam.PolicyDocument();
    super(scope, id, {
      description,
      assumedBy: new iam.ServicePrincipal(service),
      inlinePolicies: { agent: document },
    });
    this.document = document;
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    const shared = SharedStatements.of(this)?.attach(this, statement);
    if (shared) return { statementAdded: true, policyDependable: shared };
    this.document.addStatements(statement);
    return { statementAdded: true, policyDependable: this };
  }
}

/** Managed policies IAM attaches to a role by default; a role keeps some for whoever extends it. */
const MANAGED_POLICIES_PER_ROLE = 10;
const KEPT_FOR_OTHERS = 4;

/**
 * The statements several agents of one stack are given alike (the model they invoke, the key they
 * read, the events they publish), each in one customer managed policy that every agent given it
 * attaches, instead of a copy in each agent's inline policy: the template grows by a reference per
 * agent instead of the statement. Only statements that name nothing of an agent's own (no resource
 * of its stack, no name of its own) and hold no wildcard (whose acknowledgments stay on the role that
 * needs them) are shared, so each role's permissions are exactly what they were.
 */
export class SharedStatements extends Construct {
  private static readonly byStack = new WeakMap<Stack, SharedStatements>();

  /** The shared statements of `scope`'s stack, if it has them. */
  static of(scope: Construct): SharedStatements | undefined {
    return SharedStatements.byStack.get(Stack.of(scope));
  }

  private readonly policies = new Map<string, iam.ManagedPolicy>();
  private readonly attached = new Map<iam.Role, number>();

  constructor(scope: Stack, id: string) {
    super(scope, id);
    if (SharedStatements.byStack.has(scope)) throw new Error(`${scope.node.path}: has its shared statements already`);
    SharedStatements.byStack.set(scope, this);
  }

  /** The shared policy `role` now holds `statement` through, or none when the statement is the role's alone. */
  attach(role: AgentRole, statement: iam.PolicyStatement): iam.ManagedPolicy | undefined {
    const stack = Stack.of(this);
    const unresolved = statement.toStatementJson();
    const json = JSON.stringify(stack.resolve(unresolved));
    if (json.includes('*') || (this.attached.get(role) ?? 0) >= MANAGED_POLICIES_PER_ROLE - KEPT_FOR_OTHERS) return undefined;
    if ((role.agent && json.includes(`${role.agent}`)) || refersTo(unresolved, stack)) return undefined;
    let policy = this.policies.get(json);
    if (!policy) {
      policy = new iam.ManagedPolicy(this, `Statement${this.policies.size + 1}`, { description: `A grant agents of ${stack.stackName} share`, statements: [statement] });
      this.policies.set(json, policy);
    }
    role.addManagedPolicy(policy);
    this.attached.set(role, (this.attached.get(role) ?? 0) + 1);
    return policy;
  }
}

/** Whether `value` refers to a resource of `stack` (the agent's own queue, logs, function); the partition or region are no one's own. */
function refersTo(value: unknown, stack: Stack): boolean {
  const local = (t: unknown) => t instanceof Reference && CfnElement.isCfnElement(t.target) && Stack.of(t.target) === stack;
  if (typeof value === 'string') return Tokenization.reverseString(value).tokens.some(local);
  if (Array.isArray(value)) return value.some((v) => refersTo(v, stack));
  if (value && typeof value === 'object') {
    if (Tokenization.isResolvable(value)) return local(value);
    return Object.values(value).some((v) => refersTo(v, stack));
  }
  return false;
}
