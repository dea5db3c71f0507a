import { createHash } from 'node:crypto';
import { ArnFormat, Aws, Duration, Lazy, Resource, Stack, Token, type IResource } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import { INVOCATION_KIND, type ApiRoute, type InvocationTemplate } from '../../contract/api/invocation';
import { requestBodyJsonSchema } from '../../contract/api/request';
import { approvalBodyJsonSchema } from '../../contract/jobs/approvals';
import { AGENT_NAME_MAX, agentNameSchema } from '../../contract/definition/schema';
import { DEFAULT_SYNC_TIMEOUT_SECONDS } from '../../contract/definition/sync-timeout';
import { STATE_KEYS, STATE_TABLE } from '../../contract/state/table';
import type { IAgentStateTable } from './agent-state-table';
import { retainedLogGroup } from './defaults';
import { acknowledge, acknowledgeGrantedWildcards } from './nag';

/** Who may call the API. Never anonymous unless asked for by name, with a reason. */
export class AgentApiAuthorization {
  /** SigV4-signed requests from IAM principals allowed `execute-api:Invoke` on the route. */
  static iam(): AgentApiAuthorization {
    return new AgentApiAuthorization('iam', () => ({ authorizationType: apigw.AuthorizationType.IAM }));
  }

  /** Bearer tokens from Cognito user pools, optionally requiring OAuth scopes. */
  static cognito(userPools: cognito.IUserPool[], scopes?: string[]): AgentApiAuthorization {
    let authorizer: apigw.CognitoUserPoolsAuthorizer | undefined;
    return new AgentApiAuthorization('cognito', (scope) => {
      authorizer ??= new apigw.CognitoUserPoolsAuthorizer(scope, 'Authorizer', { cognitoUserPools: userPools });
      return { authorizationType: apigw.AuthorizationType.COGNITO, authorizer, ...(scopes && { authorizationScopes: scopes }) };
    });
  }

  /** Any authorizer, such as a Lambda token authorizer that checks JWTs from your identity provider. */
  static authorizer(authorizer: apigw.IAuthorizer): AgentApiAuthorization {
    return new AgentApiAuthorization('custom', () => ({ authorizationType: authorizer.authorizationType ?? apigw.AuthorizationType.CUSTOM, authorizer }));
  }

  /** No authentication at all. The reason is recorded beside the security finding it accepts. */
  static anonymous(reason: string): AgentApiAuthorization {
    if (reason.trim().length < 10) throw new Error('AgentApiAuthorization.anonymous needs a real reason for leaving the API open');
    return new AgentApiAuthorization('anonymous', () => ({ authorizationType: apigw.AuthorizationType.NONE }), reason);
  }

  private constructor(
    readonly kind: 'iam' | 'cognito' | 'custom' | 'anonymous',
    readonly methodOptions: (scope: Construct) => apigw.MethodOptions,
    readonly anonymousReason?: string,
  ) {}
}

/**
 * The agents' API as the agents see it, whether it is defined in the same stack, in another stack
 * of the app, or imported from another app with `AgentApi.fromAgentApiAttributes`.
 */
export interface IAgentApi extends IResource {
  readonly restApiId: string;
  /** The base URL of the deployed stage. */
  readonly url: string;
  /**
   * What the functions of agents in other stacks are named after: `<prefix><agent>`. Such agents
   * are reached by name, so no stack references another's resources.
   */
  readonly agentNamePrefix: string;
  /** The table job status is read from, when the API takes jobs. */
  readonly state?: IAgentStateTable | undefined;
  /** How long the API waits for an agent's synchronous answer; an agent's sync runs must fit it. */
  readonly integrationTimeoutSeconds: number;
  /**
   * Serves `POST /agents/{agent}/invocations` with `fn`, through its alias or version `qualifier`
   * when given (a durable function refuses unqualified invocations).
   */
  addInvocations(agent: string, fn: lambda.IFunction, qualifier?: string): void;
  /** Hands `POST /agents/{agent}/jobs` to `fn`, which queues them, with their status from `state`. */
  addJobs(agent: string, fn: lambda.IFunction, state: IAgentStateTable, qualifier?: string): void;
  /**
   * Hands a durable agent's `POST /agents/{agent}/jobs/{jobId}/approvals` (a person's decision on a
   * call its run waits on) and `POST /agents/{agent}/jobs/{jobId}/cancel` to `fn`: the agent's
   * starter, which only the API and the agent's queue reach, so no other caller of the agent can
   * speak for an approver.
   */
  addDurableJobs(agent: string, fn: lambda.IFunction): void;
  /** Lets `grantee` call every agent route: run, submit jobs, read their status (for IAM authorization). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
  /**
   * Whether agents defined in `scope` are reached by names made from `agentNamePrefix`: true
   * outside the API's own stack, and always for an API imported from another app.
   */
  reachesByName(scope: IConstruct): boolean;
  /** The physical name an agent's function takes when it lives in another stack than the API. */
  agentFunctionName(agent: string): string;
  /** The physical name a durable agent's starter takes when it lives in another stack than the API. */
  agentStarterName(agent: string): string;
}

export interface AgentApiProps {
  /**
   * Who may call the API.
   * @default AgentApiAuthorization.iam()
   */
  readonly authorization?: AgentApiAuthorization;
  /**
   * Where job status is kept. With it the API takes jobs and serves their status; agents with a
   * `job` trigger use it unless given their own.
   * @default the table of the first agent that registers jobs
   */
  readonly state?: IAgentStateTable;
  /**
   * Agents deployed from other apps that this API serves, by name. Their functions must be named
   * `<agentNamePrefix><name>`, which an `AgentFunction` given the imported API does.
   * Agents in this app register themselves.
   * @default none
   */
  readonly agents?: readonly RemoteAgent[];
  /**
   * The start of the physical name of every function this API reaches in another stack or app: at most 23 letters, digits, hyphens or underscores, unique in the account and region.
   * @default derived from the stack name and construct path
   */
  readonly agentNamePrefix?: string;
  /**
   * How long the API waits for an agent's synchronous answer. API Gateway allows more than 29 s
   * for Regional APIs once the account's quota is raised (at the cost of throttle quota); an
   * agent's `api` trigger `timeoutSeconds` must fit within it.
   * @default Duration.seconds(29)
   */
  readonly integrationTimeout?: Duration;
  /**
   * Steady-state requests per second across the stage.
   * @default 50
   */
  readonly rateLimit?: number;
  /**
   * Burst of requests above the steady rate.
   * @default 100
   */
  readonly burstLimit?: number;
  /**
   * @default 'v1'
   */
  readonly stageName?: string;
  /**
   * How long JSON access logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * Whether to declare the account-level role API Gateway needs to write execution logs (one per
   * account and region: `AWS::ApiGateway::Account`). Set false where another app declares it.
   * @default true for the first AgentApi of the app in its account and region; the others leave it
   * to that one, and their stacks deploy after its stack
   */
  readonly cloudWatchRole?: boolean;
}

/** The AgentApi of each app that declares the account's API Gateway logging role, by account and region. */
const accountSettings = new WeakMap<IConstruct, Map<string, AgentApi>>();

/** An agent another app deploys behind this API. */
export interface RemoteAgent {
  readonly name: string;
  /**
   * Whether it takes synchronous invocations.
   * @default true
   */
  readonly invocations?: boolean;
  /**
   * Whether it takes jobs; the API then needs a `state` table.
   * @default false
   */
  readonly jobs?: boolean;
  /**
   * The alias its triggers reach it through: `live` for a durable agent or one with a rollout
   * (AgentFunction's `alias`), so the API's calls shift with its canary.
   * @default none: the function's latest code
   */
  readonly qualifier?: string;
}

export interface AgentApiAttributes {
  readonly restApiId: string;
  /** @default 'v1' */
  readonly stageName?: string;
  /** The `agentNamePrefix` of the API as its owning app defined it. */
  readonly agentNamePrefix: string;
  /**
   * The table the API reads job status from, when it takes jobs.
   * @default the API takes no jobs
   */
  readonly state?: IAgentStateTable | undefined;
  /**
   * The owning app's `integrationTimeout`.
   * @default Duration.seconds(29)
   */
  readonly integrationTimeout?: Duration;
}

const DEFAULT_STAGE = 'v1';
const DEFAULT_INTEGRATION_TIMEOUT = Duration.seconds(DEFAULT_SYNC_TIMEOUT_SECONDS);
const MAX_PREFIX = 64 - AGENT_NAME_MAX - 1;

/** What imported and owned APIs share: naming, grants and metrics. */
abstract class AgentApiBase extends Resource implements IAgentApi {
  abstract readonly restApiId: string;
  abstract readonly url: string;
  abstract readonly agentNamePrefix: string;
  abstract readonly state?: IAgentStateTable | undefined;
  abstract readonly integrationTimeoutSeconds: number;
  protected abstract readonly stageName: string;

  abstract addInvocations(agent: string, fn: lambda.IFunction, qualifier?: string): void;
  abstract addJobs(agent: string, fn: lambda.IFunction, state: IAgentStateTable, qualifier?: string): void;
  abstract addDurableJobs(agent: string, fn: lambda.IFunction): void;

  reachesByName(scope: IConstruct): boolean {
    return Stack.of(scope) !== this.stack;
  }

  agentFunctionName(agent: string): string {
    return `${this.agentNamePrefix}${agent}`;
  }

  agentStarterName(agent: string): string {
    // A prefix and an agent name may take all 64 characters a function name has: a digest fits.
    return `${this.agentNamePrefix}start-${createHash('sha256').update(agent).digest('hex').slice(0, 16)}`;
  }

  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    const route = (method: string, path: string) =>
      this.stack.formatArn({ service: 'execute-api', resource: this.restApiId, resourceName: `${this.stageName}/${method}${path}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [route('POST', '/agents/*'), route('GET', '/agents/*/jobs/*')] });
  }

  metricClientErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('4XXError', { statistic: 'Sum', ...props });
  }

  metricServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('5XXError', { statistic: 'Sum', ...props });
  }

  metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Latency', props);
  }

  protected abstract metric(name: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/**
 * One API for all agents: `POST /agents/{name}/invocations` runs an agent and answers with its
 * result; `POST /agents/{name}/jobs` hands the job to the agent's function, which records it,
 * queues it on the agent's queue and answers 202 with a job id (the same job for the same
 * idempotency key, 409 for the key reused with another body); `GET /agents/{name}/jobs/{jobId}`
 * reads its status straight from the state table. The routes are shared by every agent (an agent
 * adds no API resources), authenticated, validated, throttled and access-logged as JSON. Agents in
 * this stack are reached by their functions' own names; agents in other stacks or apps by names
 * made from `agentNamePrefix`, so the API never depends on their stacks.
 */
export class AgentApi extends AgentApiBase {
  /** An API another app owns, for agents that register with it there and run here. */
  static fromAgentApiAttributes(scope: Construct, id: string, attrs: AgentApiAttributes): IAgentApi {
    checkPrefix(attrs.agentNamePrefix, `AgentApi.fromAgentApiAttributes ${id}`);
    class Imported extends AgentApiBase {
      readonly restApiId = attrs.restApiId;
      readonly agentNamePrefix = attrs.agentNamePrefix;
      readonly state = attrs.state;
      readonly integrationTimeoutSeconds = (attrs.integrationTimeout ?? DEFAULT_INTEGRATION_TIMEOUT).toSeconds();
      protected readonly stageName = attrs.stageName ?? DEFAULT_STAGE;
      readonly url = `https://${attrs.restApiId}.execute-api.${Stack.of(scope).region}.${Stack.of(scope).urlSuffix}/${attrs.stageName ?? DEFAULT_STAGE}/`;
      // The owning app routes to these agents by name (its `agents` prop); nothing to add here.
      override reachesByName(): boolean {
        return true;
      }
      addInvocations(): void {}
      addJobs(): void {}
      addDurableJobs(): void {}
      protected metric(name: string, props?: cloudwatch.MetricOptions) {
        return new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName: name, dimensionsMap: { ApiId: this.restApiId, Stage: this.stageName }, ...props });
      }
    }
    return new Imported(scope, id);
  }

  readonly restApi: apigw.RestApi;
  readonly restApiId: string;
  readonly agentNamePrefix: string;
  readonly integrationTimeoutSeconds: number;
  /** The role API Gateway uses to invoke agent functions and read job status. */
  readonly integrationRole: iam.Role;
  readonly accessLogs: logs.LogGroup;
  private jobTable?: IAgentStateTable;
  protected readonly stageName: string;
  private readonly agentResource: apigw.Resource;
  private readonly authorization: AgentApiAuthorization;
  private readonly model: apigw.Model;
  private readonly validator: apigw.RequestValidator;
  /** The function each agent's route reaches it by, per route. */
  private readonly functions: Record<ApiRoute, Map<string, string>> = { invocations: new Map(), jobs: new Map(), approvals: new Map(), cancel: new Map() };
  private invocationsMethod?: apigw.Method;
  private jobResource?: apigw.Resource;
  private durableMethods?: { readonly approvals: apigw.Method; readonly cancel: apigw.Method };
  /** Whether the role may invoke every function named with the prefix: the agents reached by name. */
  private grantedByPrefix = false;

  constructor(scope: Construct, id: string, props: AgentApiProps = {}) {
    super(scope, id);
    this.authorization = props.authorization ?? AgentApiAuthorization.iam();
    this.stageName = props.stageName ?? DEFAULT_STAGE;
    this.agentNamePrefix = props.agentNamePrefix ?? defaultPrefix(this);
    checkPrefix(this.agentNamePrefix, `AgentApi ${this.node.path}`);
    this.integrationTimeoutSeconds = (props.integrationTimeout ?? DEFAULT_INTEGRATION_TIMEOUT).toSeconds();
    for (const [name, value] of [['rateLimit', props.rateLimit], ['burstLimit', props.burstLimit]] as const) {
      if (value !== undefined && !Token.isUnresolved(value) && !(Number.isFinite(value) && value >= 0)) throw new Error(`AgentApi ${this.node.path}: ${name} must be 0 or more requests${name === 'rateLimit' ? ' per second' : ''}; got ${value}`);
    }
    this.accessLogs = retainedLogGroup(this, 'AccessLogs', props.accessLogRetention ?? logs.RetentionDays.ONE_YEAR);
    const cloudWatchRole = props.cloudWatchRole ?? this.declaresAccountSettings();

    this.restApi = new apigw.RestApi(this, 'Api', {
      description: `Agents behind ${this.node.path}`,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole,
      deployOptions: {
        stageName: this.stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        // Bodies are prompts and answers: never copied into execution logs.
        dataTraceEnabled: false,
        tracingEnabled: true,
        metricsEnabled: true,
        throttlingRateLimit: props.rateLimit ?? 50,
        throttlingBurstLimit: props.burstLimit ?? 100,
      },
    });
    this.restApiId = this.restApi.restApiId;
    this.restApi.addGatewayResponse('BadBody', {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      templates: { 'application/json': '{"message":"invalid request body: $context.error.validationErrorString","requestId":"$context.requestId"}' },
    });
    this.restApi.addGatewayResponse('Default4xx', {
      type: apigw.ResponseType.DEFAULT_4XX,
      templates: { 'application/json': '{"message":$context.error.messageString,"requestId":"$context.requestId"}' },
    });

    this.integrationRole = new iam.Role(this, 'IntegrationRole', {
      description: 'API Gateway invokes agent functions and reads job status',
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': this.restApi.arnForExecuteApi() },
      }),
    });
    this.model = this.restApi.addModel('AgentRequest', { contentType: 'application/json', schema: { ...apiGatewaySchema(requestBodyJsonSchema()), title: 'AgentRequest' } });
    this.validator = this.restApi.addRequestValidator('Validator', { validateRequestBody: true, validateRequestParameters: true });
    this.agentResource = this.restApi.root.addResource('agents').addResource('{name}');
    if (props.state) this.serveJobs(props.state);
    for (const agent of props.agents ?? []) this.addRemoteAgent(agent);

    this.acknowledgeFindings(cloudWatchRole);
    this.node.addValidation({
      validate: () => (this.functions.invocations.size + this.functions.jobs.size === 0 ? [`AgentApi ${this.node.path} serves no agent: give an AgentFunction with an "api" or "job" trigger this API, or list agents from other apps in agents`] : []),
    });
  }

  /** The base URL of the deployed stage. */
  get url(): string {
    return this.restApi.url;
  }

  /**
   * Whether this API is the app's first in its account and region, which declares the account's
   * API Gateway logging role. Declared by several stacks, the singleton would be overwritten by
   * each deploy and removed with whichever stack is deleted first. A later API's stages log through
   * the first one's setting, so its stack deploys after the first one's.
   */
  private declaresAccountSettings(): boolean {
    const stack = Stack.of(this);
    const root = this.node.root;
    const byEnv = accountSettings.get(root) ?? accountSettings.set(root, new Map()).get(root)!;
    const key = `${Token.isUnresolved(stack.account) ? '(any account)' : stack.account}/${Token.isUnresolved(stack.region) ? '(any region)' : stack.region}`;
    const first = byEnv.get(key);
    if (!first) {
      byEnv.set(key, this);
      return true;
    }
    if (Stack.of(first) !== stack) stack.addStackDependency(Stack.of(first), 'its API logs through the account setting that stack declares');
    return false;
  }

  get state(): IAgentStateTable | undefined {
    return this.jobTable;
  }

  addInvocations(agent: string, fn: lambda.IFunction, qualifier?: string): void {
    this.routeInvocations(agent, ...this.target(agent, fn, qualifier));
  }

  addJobs(agent: string, fn: lambda.IFunction, state: IAgentStateTable, qualifier?: string): void {
    if (!this.jobTable) this.serveJobs(state);
    else if (this.jobTable !== state) throw new Error(`AgentApi ${this.node.path} serves job status from one AgentStateTable; agent "${agent}" uses another`);
    this.routeJobs(agent, ...this.target(agent, fn, qualifier));
  }

  addDurableJobs(agent: string, fn: lambda.IFunction): void {
    if (!this.jobResource) throw new Error(`AgentApi ${this.node.path}: durable agent "${agent}" takes approvals on its jobs, so it must register jobs first`);
    const [name, arn] = this.target(agent, fn, undefined, this.agentStarterName(agent));
    this.route('approvals', agent, name, arn);
    this.route('cancel', agent, name, arn);
    if (this.durableMethods) return;
    const job = this.jobResource;
    const approvalModel = this.restApi.addModel('ApprovalRequest', { contentType: 'application/json', schema: { ...apiGatewaySchema(approvalBodyJsonSchema()), title: 'ApprovalRequest' } });
    const options = (statusCodes: string[], model?: apigw.IModel): apigw.MethodOptions => {
      const { requestModels: _, ...base } = this.methodOptions(statusCodes);
      return { ...base, ...(model && { requestModels: { 'application/json': model } }), requestParameters: { 'method.request.path.name': true, 'method.request.path.jobId': true } };
    };
    this.durableMethods = {
      approvals: job.addResource('approvals').addMethod('POST', this.functionIntegration('approvals', '202'), options(['202', '400', '403', '404', '409', '500', '502'], approvalModel)),
      cancel: job.addResource('cancel').addMethod('POST', this.functionIntegration('cancel', '202'), options(['202', '404', '409', '500', '502'])),
    };
  }

  /**
   * The function name (with its qualifier) an agent's route reaches, and its ARN when it is in this
   * stack; an agent in another stack is reached by the name made from the prefix.
   */
  private target(agent: string, fn: lambda.IFunction, qualifier?: string, remoteName = this.agentFunctionName(agent)): [string, string?] {
    const q = qualifier ? `:${qualifier}` : '';
    if (!this.reachesByName(fn)) return [`${fn.functionName}${q}`, `${fn.functionArn}${q}`];
    checkPhysicalName(fn, 'functionName', remoteName, `agent "${agent}"`);
    return [`${remoteName}${q}`];
  }

  protected metric(name: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.restApi.deploymentStage.metric(name, props);
  }

  private addRemoteAgent(agent: RemoteAgent): void {
    const checked = agentNameSchema.safeParse(agent.name);
    if (!checked.success) throw new Error(`AgentApi ${this.node.path}: agents: "${agent.name}" ${checked.error.issues[0]!.message} (an agent name is at most ${AGENT_NAME_MAX} characters)`);
    const name = `${this.agentFunctionName(agent.name)}${agent.qualifier ? `:${agent.qualifier}` : ''}`;
    if (agent.invocations ?? true) this.routeInvocations(agent.name, name);
    if (agent.jobs) {
      if (!this.jobTable) throw new Error(`AgentApi ${this.node.path}: agent "${agent.name}" takes jobs, which needs the API's state table (pass state)`);
      this.routeJobs(agent.name, name);
    }
  }

  /**
   * Maps `agent` to the function it runs in, lets the integration role invoke exactly that function,
   * and creates the shared route with the first agent. A function named by this API's prefix (in
   * another stack or app) is reached by an ARN formed here, so this stack references nothing there.
   */
  private routeInvocations(agent: string, functionName: string, functionArn?: string): void {
    this.route('invocations', agent, functionName, functionArn);
    this.invocationsMethod ??= this.agentResource.addResource('invocations').addMethod('POST', this.functionIntegration('invocations', '200'), this.methodOptions(['200', '400', '404', '409', '422', '500', '502', '503', '504']));
  }

  /** Maps `agent` to the function that queues its jobs, as routeInvocations does for runs. */
  private routeJobs(agent: string, functionName: string, functionArn?: string): void {
    this.route('jobs', agent, functionName, functionArn);
  }

  private route(route: ApiRoute, agent: string, functionName: string, functionArn?: string): void {
    this.register(this.functions[route], agent, functionName);
    if (functionArn) {
      iam.Grant.addToPrincipal({ grantee: this.integrationRole, actions: ['lambda:InvokeFunction'], resourceArns: [functionArn] });
      return;
    }
    // Agents reached by name (in other stacks and apps) are all named `<prefix>...`, which is this
    // API's alone in the account and region: one statement covers them, so the role stays the same
    // size for 10 agents or 1000 (a statement per agent would outgrow IAM's policy limits).
    if (this.grantedByPrefix) return;
    this.grantedByPrefix = true;
    const byPrefix = this.stack.formatArn({ service: 'lambda', resource: 'function', resourceName: `${this.agentNamePrefix}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    iam.Grant.addToPrincipal({ grantee: this.integrationRole, actions: ['lambda:InvokeFunction'], resourceArns: [byPrefix] });
    acknowledgeGrantedWildcards(
      this.integrationRole,
      [byPrefix],
      `The API reaches the agents of other stacks by name, each named with this API's prefix (${this.agentNamePrefix}), which no other API in the account and region uses; the template maps only the agents it serves, and an unknown name is answered 404 without invoking anything.`,
    );
  }

  /** Creates the job routes, once: submitting through agents' functions, and reading status from `state`. */
  private serveJobs(state: IAgentStateTable): void {
    this.jobTable = state;
    const jobs = this.agentResource.addResource('jobs');
    jobs.addMethod('POST', this.functionIntegration('jobs', '202'), this.methodOptions(['202', '400', '404', '409', '500', '502']));
    state.grantReadJobs(this.integrationRole);
    const { requestModels: _, ...options } = this.methodOptions(['200', '404', '502']);
    this.jobResource = jobs.addResource('{jobId}');
    this.jobResource.addMethod('GET', this.jobStatusIntegration(state), {
      ...options,
      requestParameters: { 'method.request.path.name': true, 'method.request.path.jobId': true },
    });
  }

  private register(map: Map<string, string>, agent: string, target: string): void {
    if (map.has(agent)) throw new Error(`AgentApi ${this.node.path} already serves an agent named "${agent}"; agent names must be unique in an API`);
    map.set(agent, target);
  }

  private methodOptions(statusCodes: string[]): apigw.MethodOptions {
    return {
      ...this.authorization.methodOptions(this),
      requestValidator: this.validator,
      requestModels: { 'application/json': this.model },
      requestParameters: { 'method.request.path.name': true },
      methodResponses: statusCodes.map((statusCode) => ({ statusCode })),
    };
  }

  /**
   * Invokes the named agent's function with the Lambda API, for `route`. The template maps the
   * path's agent name to its function; an unknown name is sent as a dry run (which runs nothing)
   * to a function the role may invoke, and answered 404. The function answers
   * `{ statusCode, body }`, and the response template passes both through; `success` is the status
   * the method declares for it.
   */
  private functionIntegration(route: ApiRoute, success: string): apigw.AwsIntegration {
    const caller = '$util.escapeJavaScript("$!context.identity.userArn$!context.authorizer.principalId$!context.authorizer.claims.sub")';
    const envelope: InvocationTemplate = {
      kind: `"${INVOCATION_KIND}"`,
      route: `"${route}"`,
      agent: '"$name"',
      path: '"$util.escapeJavaScript($context.path)"',
      requestId: '"$context.requestId"',
      requestTimeEpoch: '$context.requestTimeEpoch',
      caller: `"${caller}"`,
      roles: '"$util.escapeJavaScript("$!groups")"',
      jobId: `"$util.escapeJavaScript($!input.params('jobId'))"`,
      body: route === 'cancel' ? '{}' : "$input.json('$')",
    };
    const functions = this.functions[route];
    const request = Lazy.string({
      produce: () => `#set($agents = ${vtlMap(functions)})
#set($name = $input.params('name'))
#set($fn = $agents.get($name))
#if("$!fn" == "")
#set($context.requestOverride.header.X-Amz-Invocation-Type = "DryRun")
#set($context.requestOverride.path.function = "${[...functions.values()][0] ?? ''}")
{}
#else
#set($context.requestOverride.path.function = $fn)
#set($groups = $context.authorizer.claims['cognito:groups'])
${jsonTemplate(envelope)}
#end`,
    });
    const response = `#set($r = $input.path('$'))
#if("$!r.statusCode" == "")
#set($context.responseOverride.status = 404)
{"message":"no agent by that name takes ${route}","requestId":"$context.requestId"}
#else
#set($context.responseOverride.status = $r.statusCode)
$r.body
#end`;
    return new apigw.AwsIntegration({
      service: 'lambda',
      path: '2015-03-31/functions/{function}/invocations',
      integrationHttpMethod: 'POST',
      options: {
        credentialsRole: this.integrationRole,
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        ...(route === 'invocations' && this.integrationTimeoutSeconds !== DEFAULT_SYNC_TIMEOUT_SECONDS && { timeout: Duration.seconds(this.integrationTimeoutSeconds) }),
        requestParameters: { 'integration.request.path.function': 'method.request.path.name' },
        requestTemplates: { 'application/json': request },
        integrationResponses: [
          { statusCode: success, responseTemplates: { 'application/json': response } },
          // A function error (crash, timeout) carries an errorMessage; never leak it to the caller.
          { statusCode: '502', selectionPattern: '.+', responseTemplates: { 'application/json': '{"message":"the agent failed; see its logs under this request id","requestId":"$context.requestId"}' } },
        ],
      },
    });
  }

  /**
   * Reads a job's record straight from the state table with the DynamoDB API: no function runs to
   * answer a status poll. A job that does not exist (or belongs to no agent of this API) is 404.
   */
  private jobStatusIntegration(state: IAgentStateTable): apigw.AwsIntegration {
    // The key's "#" separators come from a variable: a "#" before "$" in the text would read as a directive.
    const key = STATE_KEYS.job('${name}', '${jobId}').replaceAll('#', '${hash}');
    const request = Lazy.string({
      produce: () => `#set($hash = "#")
#set($name = $util.escapeJavaScript($input.params('name')))
#set($jobId = $util.escapeJavaScript($input.params('jobId')))
{"TableName":"${state.tableName}","ConsistentRead":true,"Key":{"${STATE_TABLE.partitionKey}":{"S":"${key}"}}}`,
    });
    const response = `#set($record = $input.path('$.Item.${STATE_TABLE.record}.S'))
#if("$!record" == "")
#set($context.responseOverride.status = 404)
{"message":"no such job","requestId":"$context.requestId"}
#else
$record
#end`;
    return new apigw.AwsIntegration({
      service: 'dynamodb',
      action: 'GetItem',
      integrationHttpMethod: 'POST',
      options: {
        credentialsRole: this.integrationRole,
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        requestTemplates: { 'application/json': request },
        integrationResponses: [
          { statusCode: '200', responseTemplates: { 'application/json': response } },
          { statusCode: '502', selectionPattern: '[45]\\d{2}', responseTemplates: { 'application/json': '{"message":"job status is unavailable; retry later","requestId":"$context.requestId"}' } },
        ],
      },
    });
  }

  private acknowledgeFindings(cloudWatchRole: boolean): void {
    acknowledge(this.restApi, 'AwsSolutions-APIG3', 'A WAF web ACL is an account-level choice with its own cost; every route is authenticated and throttled. Associate a web ACL with the stage to add one.');
    if (this.authorization.kind !== 'cognito') {
      acknowledge(this.restApi, 'AwsSolutions-COG4', `Routes use ${this.authorization.kind === 'anonymous' ? 'no' : this.authorization.kind.toUpperCase()} authorization, not a Cognito user pool, as configured.`);
    }
    if (this.authorization.anonymousReason) acknowledge(this.restApi, 'AwsSolutions-APIG4', this.authorization.anonymousReason);
    if (cloudWatchRole) {
      acknowledge(
        this.restApi,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'The account-level API Gateway logging role needs this AWS-managed policy, which only writes logs.',
      );
    }
  }
}

/** A Velocity map literal from agent names (DNS labels, safe to embed) to resource names. */
function vtlMap(map: Map<string, string>): string {
  return `{${[...map].map(([k, v]) => `"${k}":"${v}"`).join(',')}}`;
}

/** A JSON object template whose fields are the given template expressions. */
function jsonTemplate(fields: Readonly<Record<string, string>>): string {
  return `{${Object.entries(fields)
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
}

/** A JSON Schema document as aws-cdk-lib types it: `$schema` and `$ref` lose their `$`. */
function apiGatewaySchema(schema: Record<string, unknown>): apigw.JsonSchema {
  const convert = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(convert);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k === '$schema' ? 'schema' : k === '$ref' ? 'ref' : k, k === 'properties' || k === 'definitions' ? mapValues(v, convert) : convert(v)]));
  };
  const mapValues = (o: unknown, f: (v: unknown) => unknown) => Object.fromEntries(Object.entries(o as Record<string, unknown>).map(([k, v]) => [k, f(v)]));
  return convert(schema) as apigw.JsonSchema;
}

/** `<stack name, shortened>-<hash>-`: readable, and unique per stack and API in an account. */
function defaultPrefix(api: AgentApi): string {
  const stack = Stack.of(api);
  // A nested stack's name is known only at deploy; its path is stable and unique in the app.
  const name = Token.isUnresolved(stack.stackName) ? stack.node.path : stack.stackName;
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, 14).replace(/-+$/, '');
  const hash = createHash('sha256').update(`${name}/${api.node.path}`).digest('hex').slice(0, 6);
  return `${base || 'agents'}-${hash}-`;
}

function checkPrefix(prefix: string, where: string): void {
  if (!new RegExp(`^[A-Za-z0-9_-]{1,${MAX_PREFIX}}$`).test(prefix)) {
    throw new Error(`${where}: agentNamePrefix "${prefix}" must be 1-${MAX_PREFIX} letters, digits, hyphens or underscores, so that it and an agent name fit a Lambda function name`);
  }
}

/**
 * A resource from another stack must carry the name the API reaches it by. Imported resources have
 * no definition here to check; their owner names them.
 */
function checkPhysicalName(resource: Construct, property: 'functionName' | 'queueName', expected: string, what: string): void {
  const definition = resource.node.defaultChild as Record<string, unknown> | undefined;
  if (definition && definition[property] !== expected) {
    throw new Error(`${resource.node.path}: ${what} lives in another stack than its AgentApi, so its ${property} must be "${expected}" (the API's agentNamePrefix and the agent name), not ${typeof definition[property] !== 'string' || Token.isUnresolved(definition[property]) ? 'a generated one' : `"${definition[property]}"`}`);
  }
}
