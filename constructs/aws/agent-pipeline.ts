import { App, Duration, Stack, Stage, Token, type StackProps } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as pipelines from 'aws-cdk-lib/pipelines';
import type { Construct, IConstruct } from 'constructs';
import { awsTargets, type AwsTarget, type DeploymentEnvironments } from '../../contract/delivery/environments';
import { acknowledge, acknowledgeWildcards } from './nag';
import { SmokeCheck } from './smoke-check';
import { smokeCommands, smokeRoleName } from '../../contract/delivery/smoke-check';

/**
 * The CDK CLI the pipeline's steps run: the version this package's synthesis is tested with, so
 * a deploy never meets a newer cloud assembly schema than the one its CLI reads.
 */
export const PINNED_CDK_CLI = '2.1148.1';

/** What the synth step runs by default: the README's install, every test, the example synth with the rule packs, then the pipeline's own app. */
export const DEFAULT_SYNTH_COMMANDS: readonly string[] = ['npm ci', 'npm test', 'npm run synth', 'npm run synth:pipeline'];

export interface AgentPipelineProps extends StackProps {
  /**
   * Where changes come from: `CodePipelineSource.connection('OWNER/NAME', 'main', { connectionArn })`
   * for a Git host through a CodeStar connection, `.codeCommit(...)`, or `.s3(...)`; or a function
   * given the pipeline stack, to import a repository or bucket into it.
   */
  readonly source: pipelines.CodePipelineSource | ((pipelineStack: Stack) => pipelines.CodePipelineSource);
  /** The environments a change is promoted through, in order (`environments.json`); each needs `aws` settings to take part. */
  readonly environments: DeploymentEnvironments;
  /**
   * Builds the stacks of one environment's region in `stage`, by base name (`SupportAgent`), the
   * name a smoke check's `stack` uses. Name each stack `<base>-<target.id>` so the pipeline deploys
   * the stacks `cdk deploy` would.
   */
  readonly stacks: (stage: Stage, target: AwsTarget) => Readonly<Record<string, Stack>>;
  /** The synth step's commands; the last must leave the pipeline app's cloud assembly in `synthOutput`. @default DEFAULT_SYNTH_COMMANDS */
  readonly synthCommands?: readonly string[];
  /** @default 'pipeline.out', where `npm run synth:pipeline` writes */
  readonly synthOutput?: string;
  /** @default PINNED_CDK_CLI */
  readonly cliVersion?: string;
  /** The Node.js major version the steps run. @default '22' */
  readonly nodeVersion?: string;
}

/**
 * The AWS delivery pipeline of an agent app, on CDK Pipelines (a V2 pipeline, change sets, the CDK
 * CLI pinned). A change goes through:
 * 1. the synth step: install, every test, the synth with the AwsSolutions and Serverless rule
 *    packs (a finding without a reason fails it), then the pipeline app;
 * 2. the pipeline updating itself;
 * 3. each environment in order, as a wave whose regions (stages) deploy side by side. Before an
 *    environment with `approval`, a person approves, and each of its stages first checks whether
 *    the change widens IAM permissions or security groups (a widening waits for a second approval).
 *    After each stage deploys, a smoke check asks the environment's `smoke` agent its question
 *    through its API with signed requests, through a role the stage adds that may call only that
 *    route, and fails the stage unless the agent answers correctly.
 * Agents with a gradual rollout shift inside their stage's deploy, and a rollback fails the stage.
 */
export class AgentPipeline extends Stack {
  readonly pipeline: pipelines.CodePipeline;
  /** Each deployed stage by its target id (`dev`, `prod`, `prod-eu-west-3`). */
  readonly stages = new Map<string, Stage>();

  constructor(scope: Construct, id: string, props: AgentPipelineProps) {
    super(scope, id, props);
    const problems = pipelineProblems(props, this);
    if (problems.length) throw new Error(`AgentPipeline ${this.node.path}: ${problems.join('; ')}`);
    const node = props.nodeVersion ?? '22';
    const source = typeof props.source === 'function' ? props.source(this) : props.source;
    this.pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      cliVersion: props.cliVersion ?? PINNED_CDK_CLI,
      useChangeSets: true,
      // Artifacts encrypted with a key of the pipeline's, rotated yearly, which target accounts can be granted.
      crossAccountKeys: true,
      enableKeyRotation: true,
      synth: new pipelines.ShellStep('Synth', {
        input: source,
        commands: [...(props.synthCommands ?? DEFAULT_SYNTH_COMMANDS)],
        primaryOutputDirectory: props.synthOutput ?? 'pipeline.out',
      }),
      codeBuildDefaults: {
        buildEnvironment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.MEDIUM },
        partialBuildSpec: codebuild.BuildSpec.fromObject({ phases: { install: { 'runtime-versions': { nodejs: node } } } }),
        timeout: Duration.minutes(45),
      },
    });

    for (const [name, env] of Object.entries(props.environments)) {
      const targets = awsTargets(props.environments, [name]);
      if (!targets.length) continue;
      const wave = this.pipeline.addWave(name, env.approval ? { pre: [new pipelines.ManualApprovalStep('Approve', { comment: `Promote the change to ${name}` })] } : {});
      for (const target of targets) {
        const stage = new Stage(this, `Deploy-${target.id}`, { stageName: target.id, env: { account: target.account ?? this.account, region: target.region } });
        const stacks = props.stacks(stage, target);
        this.stages.set(target.id, stage);
        const smoke = env.smoke && this.smokeStep(source, stacks, target, env.smoke);
        wave.addStage(stage, {
          ...(env.approval && { pre: [new pipelines.ConfirmPermissionsBroadening('PermissionsBroadening', { stage })] }),
          ...(smoke && { post: [smoke] }),
        });
      }
    }
    this.pipeline.buildPipeline();
    this.acknowledgeFindings();
  }

  /**
   * What the rule packs find in the parts CDK Pipelines builds (its roles, its approver function, its
   * artifact buckets), each with what the part does and why the finding holds for it. Taken at
   * validation, when every grant has been added.
   */
  private acknowledgeFindings(): void {
    const supportStacks = App.of(this)!.node.children.filter((c): c is Stack => c instanceof Stack && c.node.id.startsWith('cross-region-stack'));
    // The pipeline's own parts only: the stages below it hold the app's stacks, whose findings are their own.
    const own = (c: IConstruct) => !Stage.isStage(c) && Stack.of(c) === this;
    this.node.addValidation({
      validate: () => {
        for (const policy of this.node.findAll().filter((c): c is iam.Policy => c instanceof iam.Policy && own(c))) {
          const grant = PIPELINE_GRANTS.find(([part]) => policy.node.path.includes(part));
          if (grant) acknowledgeWildcards(policy, policy.document, grant[1], grant[2]);
        }
        return [];
      },
    });
    for (const bucket of [...this.node.findAll().filter(own), ...supportStacks.flatMap((s) => s.node.findAll())].filter((c): c is s3.CfnBucket => c instanceof s3.CfnBucket)) {
      acknowledge(
        bucket,
        'AwsSolutions-S1',
        "Holds only the pipeline's intermediate artifacts, encrypted with the pipeline's key and read and written only by its own roles; each execution's history records what went in and out.",
      );
    }
    for (const rule of this.node.findAll().filter((c): c is events.CfnRule => c instanceof events.CfnRule && own(c))) {
      acknowledge(
        rule,
        'Serverless-EventBusDLQ',
        "The source's rule starts the pipeline when the branch changes; EventBridge retries a start for 24 hours, and a start still lost leaves the pipeline at the previous commit, which the next push or a manual release picks up.",
      );
    }
    const approver = this.node.findAll().find((c): c is lambda.Function => c instanceof lambda.Function && own(c) && c.node.id === 'CDKPipelinesAutoApprove');
    if (approver) {
      (approver.node.defaultChild as lambda.CfnFunction).memorySize = 256;
      acknowledge(approver, 'Serverless-LambdaDLQ', 'CDK Pipelines invokes its approver synchronously from the permissions check, whose build fails when the approver does; it is never invoked asynchronously.');
      acknowledge(approver, 'Serverless-LambdaTracing', 'CDK Pipelines builds its approver without tracing; it makes one CodePipeline call per check, which the pipeline execution history already shows.');
      acknowledge(
        approver.role!,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK Pipelines gives its approver the AWS managed basic execution policy, which writes the function's own logs only.",
      );
    }
  }

  /**
   * The check after a stage deploys: a role in the stage's account that this pipeline's account may
   * assume and that may call only the agent's invocation route, and a step that assumes it and runs
   * `npm run smoke` against the API URL the stack outputs.
   */
  private smokeStep(source: pipelines.CodePipelineSource, stacks: Readonly<Record<string, Stack>>, target: AwsTarget, smoke: NonNullable<DeploymentEnvironments[string]['smoke']>): pipelines.CodeBuildStep {
    const stack = stacks[smoke.stack];
    if (!stack) throw new Error(`AgentPipeline ${this.node.path}: environments.${target.environment}.smoke.stack: "${smoke.stack}" is not one of the stacks built for ${target.id} (${Object.keys(stacks).join(', ')})`);
    const check = new SmokeCheck(stack, 'SmokeCheck', { agent: smoke.agent, target: target.id, trustedAccount: this.account });
    return new pipelines.CodeBuildStep(`Smoke-${target.id}`, {
      input: source,
      envFromCfnOutputs: { SMOKE_API_URL: check.apiUrl, SMOKE_ROLE_ARN: check.roleArn },
      commands: ['npm ci', ...smokeCommands(smoke)],
      rolePolicyStatements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [`arn:${this.partition}:iam::${target.account ?? this.account}:role/${smokeRoleName(target.id, smoke.agent)}`] })],
    });
  }
}

/** How an ARN starts in a finding id: its partition resolved, or as the `AWS::Partition` reference. */
const ARN = String.raw`arn:(?:aws[a-z-]*|<AWS::Partition>)`;
/** What every CDK Pipelines CodeBuild project's role holds: its own logs and reports, the pipeline's artifacts and their key. */
const PROJECT_WILDCARDS = String.raw`Action::s3:(GetBucket|GetObject|List)\*|Action::kms:(GenerateDataKey|ReEncrypt)\*|Resource::${ARN}:logs:[^:]+:\d+:log-group:/aws/codebuild/<[^>]+>:\*|Resource::${ARN}:codebuild:[^:]+:\d+:report-group/<[^>]+>-\*|Resource::<PipelineArtifactsBucket[A-Z0-9]+\.Arn>/\*`;
const PROJECT_REASON =
  "its CodeBuild project's own log streams (:*) and test reports (-*), and the pipeline's artifacts: reading objects of its artifact bucket (/*, S3's GetObject*, GetBucket* and List* read actions) and decrypting with the pipeline's key (GenerateDataKey*, ReEncrypt*)";

/**
 * Why each role CDK Pipelines builds holds its wildcards, by a part of its path, and which
 * wildcards that reason covers; any other wildcard stays a finding.
 */
const PIPELINE_GRANTS: readonly (readonly [string, string, RegExp])[] = [
  [
    '/Assets/',
    "CDK Pipelines' asset publishing roles: they start, watch and stop the pipeline's asset CodeBuild builds (codebuild:StartBuild, BatchGetBuilds, StopBuild on *, as CDK Pipelines grants them), write logs and reports of any CodeBuild project in the account and region (log-group:/aws/codebuild/*, report-group/*, as CDK Pipelines shares these roles across its asset projects), and read the pipeline's artifacts (objects of its bucket, /*, read actions only).",
    new RegExp(String.raw`^(Resource::\*|Resource::${ARN}:logs:[^:]+:\d+:log-group:/aws/codebuild/\*|Resource::${ARN}:codebuild:[^:]+:\d+:report-group/\*|${PROJECT_WILDCARDS})$`),
  ],
  [
    '/UpdatePipeline/',
    `CDK Pipelines' self-update: it assumes roles of the pipeline's account (role/*; the CDK bootstrap roles are the ones it uses), reads stack state (cloudformation:DescribeStacks and s3:ListBucket on *, as the CDK CLI calls them), and ${PROJECT_REASON}.`,
    new RegExp(String.raw`^(Resource::\*|Resource::arn:\*:iam::\d+:role/\*|${PROJECT_WILDCARDS})$`),
  ],
  [
    '/CDKSecurityCheck/',
    `CDK Pipelines' permissions-broadening check: cdk diff assumes roles (sts:AssumeRole on *, limited by a condition to roles tagged aws-cdk:bootstrap-role deploy) to read the deployed stacks, invokes the check's approver function (its versions, :*), and ${PROJECT_REASON}.`,
    new RegExp(String.raw`^(Resource::\*|Resource::<[^>]+AutoApprove[^>]+\.Arn>:\*|${PROJECT_WILDCARDS})$`),
  ],
  [
    '/CDKPipelinesAutoApprove/',
    "CDK Pipelines' approver reads pipeline state and answers approvals (codepipeline:GetPipelineState, PutApprovalResult on *), only on pipelines tagged SECURITY_CHECK=ALLOW_APPROVE (the condition on its statement).",
    /^Resource::\*$/,
  ],
  [
    '/Pipeline/Pipeline/',
    `CodePipeline and its CodeBuild steps: the pipeline's role reads and writes its artifact bucket and the other regions' replication buckets (their objects, /*, with S3's Get*, List*, Abort* and DeleteObject* object actions CodePipeline uses to move and clean up artifacts) and uses their keys (kms on *: the replication buckets' keys are in other regions' support stacks); each step's role holds ${PROJECT_REASON}.`,
    new RegExp(String.raw`^(Action::s3:(Abort|DeleteObject)\*|Resource::\*|Resource::${ARN}:s3:::[a-z0-9.-]+/\*|${PROJECT_WILDCARDS})$`),
  ],
];

/** What is wrong with the pipeline's environments, as `field: problem` lines. */
function pipelineProblems(props: AgentPipelineProps, stack: Stack): string[] {
  const problems: string[] = [];
  const targets = awsTargets(props.environments);
  if (!targets.length) problems.push('environments: none has aws settings, so the pipeline would deploy nothing');
  if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)) {
    problems.push('env: give the pipeline stack its account and region; a pipeline deploying to named regions cannot be environment-agnostic');
  }
  return problems;
}
