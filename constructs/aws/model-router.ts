import { Arn, ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import type { AgentDefinition } from '../../contract/definition/define';
import { aliasesFor, parseRouterConfig, resolveModel, type ModelTargetSpec, type RouterConfig, type RouterPolicy } from '../../contract/routing/config';

export type ModelRouterProps = RouterConfig;

/** What an agent needs of a router: its route, and the grants to call it. */
export interface IModelRouter {
  /** The parsed policy: aliases, cohorts, providers and prices. */
  readonly policy: RouterPolicy;
  route(agent: AgentDefinition): readonly ModelTargetSpec[];
  /** Grants `grantee` invoke on the agent's Bedrock targets and read on their secrets only. */
  grantInvoke(grantee: iam.IGrantable, agent: AgentDefinition): iam.Grant;
}

const BEDROCK_INVOKE = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'];

/**
 * Resolves model aliases (`smart`, `fast`, …) to ordered targets per cohort, and grants an agent
 * exactly what its targets need: invoke on those Bedrock models, read on those secrets.
 * It creates no resources: routing is configuration the runtime receives at deploy time.
 */
export class ModelRouter extends Construct implements IModelRouter {
  readonly policy: RouterPolicy;
  private readonly secrets = new Map<string, secretsmanager.ISecret>();

  constructor(scope: Construct, id: string, props: ModelRouterProps) {
    super(scope, id);
    this.policy = parseRouterConfig(props, `ModelRouter ${this.node.path}`);
    const problems = unknownRegions(props);
    if (problems.length) throw new Error(`ModelRouter ${this.node.path}: ${problems.join('; ')}`);
  }

  /** The aliases an agent of `cohort` may name. */
  aliases(cohort = 'default'): string[] {
    return aliasesFor(this.policy, cohort);
  }

  route(agent: AgentDefinition): readonly ModelTargetSpec[] {
    return resolveModel(this.policy, agent);
  }

  grantInvoke(grantee: iam.IGrantable, agent: AgentDefinition): iam.Grant {
    return grantTargets(this, grantee, this.route(agent), (name) => this.secret(name));
  }

  private secret(name: string): secretsmanager.ISecret {
    let secret = this.secrets.get(name);
    if (!secret) {
      secret = secretsmanager.Secret.fromSecretNameV2(this, `Secret${this.secrets.size}`, name);
      this.secrets.set(name, secret);
    }
    return secret;
  }
}

/**
 * Grants for a route. An agent that names a Bedrock model directly has a route without a router,
 * and so without secrets: the router holds every provider's credentials.
 */
export function grantTargets(
  scope: Construct,
  grantee: iam.IGrantable,
  targets: readonly ModelTargetSpec[],
  secret: (name: string) => secretsmanager.ISecret = (name) => {
    throw new Error(`secret "${name}" can only be granted through a ModelRouter`);
  },
): iam.Grant {
  const stack = Stack.of(scope);
  const modelArns = [...new Set(targets.flatMap((t) => bedrockArns(stack, t)))];
  let grant = modelArns.length
    ? iam.Grant.addToPrincipal({ grantee, actions: BEDROCK_INVOKE, resourceArns: modelArns })
    : iam.Grant.drop(grantee, 'no Bedrock targets');
  const secretNames = new Set(targets.flatMap((t) => ('apiKeySecret' in t && t.apiKeySecret ? [t.apiKeySecret] : [])));
  for (const name of secretNames) grant = grant.combine(secret(name).grantRead(grantee));
  return grant;
}

function bedrockArns(stack: Stack, target: ModelTargetSpec): string[] {
  const foundationModel = (region: string, model: string) =>
    Arn.format({ service: 'bedrock', region, account: '', resource: 'foundation-model', resourceName: model, arnFormat: ArnFormat.SLASH_RESOURCE_NAME, partition: Aws.PARTITION });
  switch (target.provider) {
    case 'bedrock':
      return [foundationModel(stack.region, target.model)];
    case 'bedrock-inference-profile': {
      // A cross-region profile is invoked in this region and served from the model in each of its regions.
      const model = target.profile.slice(target.profile.indexOf('.') + 1);
      return [
        stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: target.profile, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
        ...target.regions.map((r) => foundationModel(r, model)),
      ];
    }
    default:
      return [];
  }
}

/**
 * Inference-profile regions that are not AWS regions (a typo would otherwise grant invoke on a
 * model in no region and fail only at run time), by field. The list is aws-cdk-lib's.
 */
function unknownRegions(props: ModelRouterProps): string[] {
  const known = new Set(RegionInfo.regions.map((r) => r.name));
  const policies: [string, Readonly<Record<string, readonly ModelTargetSpec[]>>][] = [
    ['aliases', props.aliases],
    ...Object.entries(props.cohorts ?? {}).map(([cohort, aliases]) => [`cohorts.${cohort}`, aliases] as [string, Readonly<Record<string, readonly ModelTargetSpec[]>>]),
  ];
  const problems: string[] = [];
  for (const [where, aliases] of policies) {
    for (const [alias, targets] of Object.entries(aliases)) {
      targets.forEach((target, i) => {
        if (target.provider !== 'bedrock-inference-profile') return;
        target.regions.forEach((region, j) => {
          if (!known.has(region)) problems.push(`${where}.${alias}[${i}].regions[${j}]: "${region}" is not an AWS region`);
        });
      });
    }
  }
  return problems;
}
