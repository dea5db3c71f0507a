import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * An agent's execution role that keeps every grant in one inline policy instead of a separate
 * AWS::IAM::Policy resource: one resource less per agent, and the permissions exist before the
 * function that uses them. Grants still arrive through the usual `grant*` methods.
 */
export class AgentRole extends iam.Role {
  private readonly document: iam.PolicyDocument;

  /** `service`: who runs the agent and assumes the role (Lambda, ECS tasks, AgentCore). */
  constructor(scope: Construct, id: string, description: string, service = 'lambda.amazonaws.com') {
    const document = new iam.PolicyDocument();
    super(scope, id, {
      description,
      assumedBy: new iam.ServicePrincipal(service),
      inlinePolicies: { agent: document },
    });
    this.document = document;
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.document.addStatements(statement);
    return { statementAdded: true, policyDependable: this };
  }
}
