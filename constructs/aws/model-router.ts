import { createHash } from 'node:crypto';
import { Arn, ArnFormat, Aws, Names, Stack } from 'aws-cdk-lib';
import * as bedrock from 'aws-cdk-lib/aws-bedrock';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import type { AgentDefinition } from '../../contract/definition/define';
import { aliasesFor, parseRouterConfig, resolveModel, type ModelTargetSpec, type RouterConfig, type RouterPolicy } from '../../contract/routing/config';

export type ModelRouterProps = RouterConfig & {
  /**
   * Whether agents call Bedrock through an application inference profile per cohort and model,
   * tagged `cohort`, which the router creates: Bedrock then bills each cohort's calls under its
   * tag, so Cost Explorer and AWS Budgets (CohortBudgets) see spend per cohort. Profiles cost
   * nothing; there is one per cohort and Bedrock target in use, however many agents.
   * @default true
   */
  readonly cohortInferenceProfiles?: boolean;
};

/** What an agent needs of a router: its route, and the grants to call it. */
export interface IModelRouter {
  /** The parsed policy: aliases, cohorts, providers and prices. */
  readonly policy: RouterPolicy;
  route(agent: AgentDefinition): readonly ModelTargetSpec[];
  /** Grants `grantee` invoke on the agent's Bedrock targets and read on their secrets only. */
  grantInvoke(grantee: iam.IGrantable, agent: AgentDefinition): iam.Grant;
  /**
   * The application inference profile the agent calls each of its Bedrock models through, by
   * the model (or system profile) id its route names; none for a router without them.
   */
  inferenceProfiles?(agent: AgentDefinition): Readonly<Record<string, string>>;
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
  private readonly profiles = new Map<string, bedrock.CfnApplicationInferenceProfile>();
  private readonly cohortProfiles: boolean;

  constructor(scope: Construct, id: string, props: ModelRouterProps) {
    super(scope, id);
    const { cohortInferenceProfiles, ...config } = props;
    this.cohortProfiles = cohortInferenceProfiles ?? true;
    this.policy = parseRouterConfig(config, `ModelRouter ${this.node.path}`);
    const problems = unknownRegions(config);
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
    return grantTargets(this, grantee, this.route(agent), (name) => this.secret(name), Object.values(this.inferenceProfiles(agent)));
  }

  inferenceProfiles(agent: AgentDefinition): Readonly<Record<string, string>> {
    if (!this.cohortProfiles) return {};
    const stack = Stack.of(this);
    const profiles: Record<string, string> = {};
    for (const target of this.route(agent)) {
      const source =
        target.provider === 'bedrock'
          ? { id: target.model, arn: foundationModelArn(stack.region, target.model) }
          : target.provider === 'bedrock-inference-profile'
            ? { id: target.profile, arn: stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: target.profile, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }) }
            : undefined;
      if (source) profiles[source.id] = this.profile(agent.cohort, source.id, source.arn).attrInferenceProfileArn;
    }
    return profiles;
  }

  /** The cohort's profile over `model`, created on first use. */
  private profile(cohort: string, model: string, copyFrom: string): bedrock.CfnApplicationInferenceProfile {
    const key = `${cohort} ${model}`;
    let profile = this.profiles.get(key);
    if (!profile) {
      // Unique in the account and region (the stack's name and the router's path in it), within
      // Bedrock's 64 characters, and the same for a cohort and model whatever else the app holds:
      // a logical id by position would hand one profile's name to another when agents change.
      const digest = createHash('sha256').update(`${Stack.of(this).stackName} ${Names.uniqueId(this)} ${key}`).digest('hex').slice(0, 10);
      profile = new bedrock.CfnApplicationInferenceProfile(this, `Profile-${digest}`, {
        inferenceProfileName: `${cohort.slice(0, 40).replace(/-+$/, '')}-${digest}`,
        // Bedrock takes letters, digits, ':' and '.', single separators between them.
        description: `Cohort ${cohort} calls to ${model.replace(/[^0-9a-zA-Z:.]+/g, ' ')} billed under its cohort tag`.slice(0, 200),
        modelSource: { copyFrom },
        tags: [{ key: COHORT_TAG, value: cohort }],
      });
      this.profiles.set(key, profile);
    }
    return profile;
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
  profileArns: readonly string[] = [],
): iam.Grant {
  const stack = Stack.of(scope);
  // Calls through an application inference profile need invoke on it and on the models under it.
  const modelArns = [...new Set([...profileArns, ...targets.flatMap((t) => bedrockArns(stack, t))])];
  let grant = modelArns.length
    ? iam.Grant.addToPrincipal({ grantee, actions: BEDROCK_INVOKE, resourceArns: modelArns })
    : iam.Grant.drop(grantee, 'no Bedrock targets');
  const secretNames = new Set(targets.flatMap((t) => ('apiKeySecret' in t && t.apiKeySecret ? [t.apiKeySecret] : [])));
  for (const name of secretNames) grant = grant.combine(secret(name).grantRead(grantee));
  return grant;
}

/** The tag the router's profiles (and agents' resources) carry their cohort in, for cost allocation. */
export const COHORT_TAG = 'cohort';

const foundationModelArn = (region: string, model: string) =>
  Arn.format({ service: 'bedrock', region, account: '', resource: 'foundation-model', resourceName: model, arnFormat: ArnFormat.SLASH_RESOURCE_NAME, partition: Aws.PARTITION });

function bedrockArns(stack: Stack, target: ModelTargetSpec): string[] {
  switch (target.provider) {
    case 'bedrock':
      return [foundationModelArn(stack.region, target.model)];
    case 'bedrock-inference-profile': {
      // A cross-region profile is invoked in this region and served from the model in each of its regions.
      const model = target.profile.slice(target.profile.indexOf('.') + 1);
      return [
        stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: target.profile, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
        ...target.regions.map((r) => foundationModelArn(r, model)),
        // A global profile is also authorized against the model with no region.
        ...(target.profile.startsWith('global.') ? [foundationModelArn('', model)] : []),
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
