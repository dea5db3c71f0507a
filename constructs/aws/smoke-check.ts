import { CfnOutput, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { SMOKE_OUTPUTS, smokeRoleName } from '../../contract/delivery/smoke-check';
import { AgentApi } from './agent-api';

export interface SmokeCheckProps {
  /** The API the check calls. @default the one AgentApi of the stack */
  readonly api?: AgentApi;
  /** The agent it asks. */
  readonly agent: string;
  /** What the role is named after: the environment's target (`prod-eu-west-3`). */
  readonly target: string;
  /** The account whose principals may assume the role: the pipeline's, or the one a GitHub workflow's role is in. @default the stack's own */
  readonly trustedAccount?: string;
}

/**
 * What a post-deploy smoke check needs from the stack it checks: a role, named after the target
 * and the agent, that the delivering account may assume and that may call one route only (the
 * agent's invocations, on the API's deployed stage), and the outputs the check reads (the API's URL
 * and the role's ARN).
 */
export class SmokeCheck extends Construct {
  readonly role: iam.Role;
  readonly apiUrl: CfnOutput;
  readonly roleArn: CfnOutput;

  constructor(scope: Stack, id: string, props: SmokeCheckProps) {
    super(scope, id);
    const api = props.api ?? scope.node.findAll().find((c): c is AgentApi => c instanceof AgentApi);
    if (!api) throw new Error(`SmokeCheck ${this.node.path}: ${scope.stackName} holds no AgentApi to ask agent ${props.agent} through`);
    this.role = new iam.Role(this, 'Role', {
      roleName: smokeRoleName(props.target, props.agent),
      assumedBy: new iam.AccountPrincipal(props.trustedAccount ?? scope.account),
      description: `Asks agent ${props.agent} one question after ${scope.stackName} deploys`,
    });
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [invocationRoute(api, props.agent)] }));
    // Fixed ids at the stack's root, so a workflow finds them in `cdk deploy --outputs-file`.
    this.apiUrl = new CfnOutput(scope, SMOKE_OUTPUTS.apiUrl, { value: api.restApi.url, description: 'The API the smoke check calls after each deploy' });
    this.roleArn = new CfnOutput(scope, SMOKE_OUTPUTS.roleArn, { value: this.role.roleArn, description: 'The role the smoke check assumes' });
  }
}

const invocationRoute = (api: AgentApi, agent: string) => api.restApi.arnForExecuteApi('POST', `/agents/${agent}/invocations`, api.restApi.deploymentStage.stageName);
