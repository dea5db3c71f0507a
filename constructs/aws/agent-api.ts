import { Aws, Lazy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { STATE_KEYS } from '../definition/encoding';
import type { AgentQueue } from './agent-queue';
import type { AgentStateTable } from './agent-state-table';
import { retainedLogGroup } from './defaults';
import { acknowledge } from './nag';

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

export interface AgentApiProps {
  /**
   * Who may call the API.
   * @default AgentApiAuthorization.iam()
   */
  readonly authorization?: AgentApiAuthorization;
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
   * Whether to create the account-level role API Gateway needs to write execution logs. Set false
   * where the account already has one (it is one per account and region).
   * @default true
   */
  readonly cloudWatchRole?: boolean;
}

/** The request body both routes accept; the runtime validates the agent-specific parts. */
const REQUEST_SCHEMA: apigw.JsonSchema = {
  schema: apigw.JsonSchemaVersion.DRAFT4,
  title: 'AgentRequest',
  type: apigw.JsonSchemaType.OBJECT,
  required: ['input'],
  additionalProperties: false,
  properties: {
    input: { type: [apigw.JsonSchemaType.STRING, apigw.JsonSchemaType.OBJECT], minLength: 1, maxLength: 100_000 },
    sessionId: { type: apigw.JsonSchemaType.STRING, pattern: '^[A-Za-z0-9._:-]{1,128}$' },
    idempotencyKey: { type: apigw.JsonSchemaType.STRING, pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
};

/**
 * One API for all agents: `POST /agents/{name}/invocations` runs an agent and answers with its
 * result; `POST /agents/{name}/jobs` queues a run on the agent's queue and answers 202 with a job
 * id. Both routes are shared by every agent (an agent adds no API resources), authenticated,
 * validated, throttled and access-logged as JSON.
 */
export class AgentApi extends Construct {
  readonly restApi: apigw.RestApi;
  /** The role API Gateway uses to invoke agent functions and send to agent queues. */
  readonly integrationRole: iam.Role;
  readonly accessLogs: logs.LogGroup;
  private readonly agentResource: apigw.Resource;
  private readonly authorization: AgentApiAuthorization;
  private readonly model: apigw.Model;
  private readonly validator: apigw.RequestValidator;
  private readonly functions = new Map<string, string>();
  private readonly queues = new Map<string, string>();
  private invocationsMethod?: apigw.Method;
  private jobsMethod?: apigw.Method;
  private jobTable?: AgentStateTable;

  constructor(scope: Construct, id: string, props: AgentApiProps = {}) {
    super(scope, id);
    this.authorization = props.authorization ?? AgentApiAuthorization.iam();
    this.accessLogs = retainedLogGroup(this, 'AccessLogs', props.accessLogRetention ?? logs.RetentionDays.ONE_YEAR);
    const cloudWatchRole = props.cloudWatchRole ?? true;

    this.restApi = new apigw.RestApi(this, 'Api', {
      description: `Agents behind ${this.node.path}`,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole,
      deployOptions: {
        stageName: props.stageName ?? 'v1',
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
    this.restApi.addGatewayResponse('BadBody', {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      templates: { 'application/json': '{"message":"invalid request body: $context.error.validationErrorString","requestId":"$context.requestId"}' },
    });
    this.restApi.addGatewayResponse('Default4xx', {
      type: apigw.ResponseType.DEFAULT_4XX,
      templates: { 'application/json': '{"message":$context.error.messageString,"requestId":"$context.requestId"}' },
    });

    this.integrationRole = new iam.Role(this, 'IntegrationRole', {
      description: 'API Gateway invokes agent functions and queues agent jobs',
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': this.restApi.arnForExecuteApi() },
      }),
    });
    this.model = this.restApi.addModel('AgentRequest', { contentType: 'application/json', schema: REQUEST_SCHEMA });
    this.validator = this.restApi.addRequestValidator('Validator', { validateRequestBody: true, validateRequestParameters: true });
    this.agentResource = this.restApi.root.addResource('agents').addResource('{name}');

    this.acknowledgeFindings(cloudWatchRole);
    this.node.addValidation({
      validate: () => (this.functions.size + this.queues.size === 0 ? [`AgentApi ${this.node.path} serves no agent: give an AgentFunction with an "api" or "job" trigger this API`] : []),
    });
  }

  /** The base URL of the deployed stage. */
  get url(): string {
    return this.restApi.url;
  }

  /** Serves `agent` for synchronous invocations through `fn`. */
  addInvocations(agent: string, fn: lambda.IFunction): void {
    this.register(this.functions, agent, fn.functionName);
    iam.Grant.addToPrincipal({ grantee: this.integrationRole, actions: ['lambda:InvokeFunction'], resourceArns: [fn.functionArn] });
    this.invocationsMethod ??= this.agentResource.addResource('invocations').addMethod('POST', this.invocationIntegration(fn.functionName), this.methodOptions(['200', '400', '404', '422', '500', '502']));
  }

  /** Accepts jobs for `agent`, queues them on `queue`, and serves their status from `state`. */
  addJobs(agent: string, queue: AgentQueue, state: AgentStateTable): void {
    this.register(this.queues, agent, queue.queue.queueName);
    queue.grantSendJobs(this.integrationRole);
    if (!this.jobsMethod) {
      const jobs = this.agentResource.addResource('jobs');
      this.jobsMethod = jobs.addMethod('POST', this.jobIntegration(), this.methodOptions(['202', '400', '404', '502']));
      state.grantReadJobs(this.integrationRole);
      const { requestModels: _, ...options } = this.methodOptions(['200', '404', '502']);
      jobs.addResource('{jobId}').addMethod('GET', this.jobStatusIntegration(state), {
        ...options,
        requestParameters: { 'method.request.path.name': true, 'method.request.path.jobId': true },
      });
      this.jobTable = state;
    } else if (this.jobTable !== state) {
      throw new Error(`AgentApi ${this.node.path} serves job status from one AgentStateTable; agent "${agent}" uses another`);
    }
  }

  /** Lets `grantee` call every route (for IAM authorization). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [this.restApi.arnForExecuteApi('POST', '/agents/*')] });
  }

  metricClientErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.restApi.metricClientError(props);
  }

  metricServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.restApi.metricServerError(props);
  }

  metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.restApi.metricLatency(props);
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
   * Invokes the named agent's function with the Lambda API. The template maps the path's agent name
   * to its function; an unknown name is sent as a dry run (which runs nothing) and answered 404.
   * The function answers `{ statusCode, body }`, and the response template passes both through.
   */
  private invocationIntegration(anyFunction: string): apigw.AwsIntegration {
    const request = Lazy.string({
      produce: () => `#set($agents = ${vtlMap(this.functions)})
#set($name = $input.params('name'))
#set($fn = $agents.get($name))
#if("$!fn" == "")
#set($context.requestOverride.header.X-Amz-Invocation-Type = "DryRun")
#set($context.requestOverride.path.function = "${anyFunction}")
{}
#else
#set($context.requestOverride.path.function = $fn)
{"kind":"invocation","agent":"$name","requestId":"$context.requestId","requestTimeEpoch":$context.requestTimeEpoch,"caller":"$util.escapeJavaScript("$!context.identity.userArn$!context.authorizer.principalId$!context.authorizer.claims.sub")","body":$input.json('$')}
#end`,
    });
    const response = `#set($r = $input.path('$'))
#if("$!r.statusCode" == "")
#set($context.responseOverride.status = 404)
{"message":"no agent by that name takes invocations","requestId":"$context.requestId"}
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
        requestParameters: { 'integration.request.path.function': 'method.request.path.name' },
        requestTemplates: { 'application/json': request },
        integrationResponses: [
          { statusCode: '200', responseTemplates: { 'application/json': response } },
          // A function error (crash, timeout) carries an errorMessage; never leak it to the caller.
          { statusCode: '502', selectionPattern: '.+', responseTemplates: { 'application/json': '{"message":"the agent failed; see its logs under this request id","requestId":"$context.requestId"}' } },
        ],
      },
    });
  }

  /**
   * Sends the job to the named agent's queue with the SQS API. The body is the request; the job id
   * (the API request id), agent and caller travel as message attributes, so they stay with the
   * message into the dead-letter queue. An unknown name targets no queue the role may use: SQS
   * refuses with 403, answered 404.
   */
  private jobIntegration(): apigw.AwsIntegration {
    const request = Lazy.string({
      produce: () => `#set($queues = ${vtlMap(this.queues)})
#set($name = $input.params('name'))
#set($queue = $queues.get($name))
#if("$!queue" == "")#set($queue = "no-such-agent")#end
#set($context.requestOverride.path.queue = $queue)
#set($caller = "$!context.identity.userArn$!context.authorizer.principalId$!context.authorizer.claims.sub")
#if("$caller" == "")#set($caller = "anonymous")#end
Action=SendMessage&MessageBody=$util.urlEncode($input.json('$'))&MessageAttribute.1.Name=jobId&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=$util.urlEncode($context.requestId)&MessageAttribute.2.Name=agent&MessageAttribute.2.Value.DataType=String&MessageAttribute.2.Value.StringValue=$util.urlEncode($name)&MessageAttribute.3.Name=caller&MessageAttribute.3.Value.DataType=String&MessageAttribute.3.Value.StringValue=$util.urlEncode($caller)&MessageAttribute.4.Name=submittedAt&MessageAttribute.4.Value.DataType=Number&MessageAttribute.4.Value.StringValue=$context.requestTimeEpoch`,
    });
    const message = (text: string) => ({ 'application/json': `{"message":"${text}","requestId":"$context.requestId"}` });
    return new apigw.AwsIntegration({
      service: 'sqs',
      path: `${Aws.ACCOUNT_ID}/{queue}`,
      integrationHttpMethod: 'POST',
      options: {
        credentialsRole: this.integrationRole,
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        requestParameters: {
          'integration.request.header.Content-Type': "'application/x-www-form-urlencoded'",
          'integration.request.path.queue': 'method.request.path.name',
        },
        requestTemplates: { 'application/json': request },
        integrationResponses: [
          { statusCode: '202', responseTemplates: { 'application/json': '{"jobId":"$context.requestId","status":"queued"}' } },
          { statusCode: '404', selectionPattern: '403', responseTemplates: message('no agent by that name takes jobs') },
          { statusCode: '400', selectionPattern: '4\\d{2}', responseTemplates: message('the queue refused the job') },
          { statusCode: '502', selectionPattern: '5\\d{2}', responseTemplates: message('the queue is unavailable; retry later') },
        ],
      },
    });
  }

  /**
   * Reads a job's record straight from the state table with the DynamoDB API: no function runs to
   * answer a status poll. A job that does not exist (or belongs to no agent of this API) is 404.
   */
  private jobStatusIntegration(state: AgentStateTable): apigw.AwsIntegration {
    const request = Lazy.string({
      produce: () =>
        `{"TableName":"${state.tableName}","ConsistentRead":true,"Key":{"id":{"S":"${STATE_KEYS.job("$util.escapeJavaScript($input.params('name'))", "$util.escapeJavaScript($input.params('jobId'))")}"}}}`,
    });
    const response = `#set($record = $input.path('$.Item.record.S'))
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

