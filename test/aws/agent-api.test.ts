import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as cdk from 'aws-cdk-lib';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AgentApi, AgentApiAuthorization, AgentFunction, AgentQueue, AgentStateTable, type AgentApiProps } from '../../constructs/aws';
import { RUNTIME_ENV } from '../../contract/config/settings';
import { agentInput, agentRoleStatements, reportingApp, synthWithRulePacks, testStack } from '../helpers';

function build(props: AgentApiProps = {}, stack: Stack = testStack(new App())) {
  const api = new AgentApi(stack, 'Api', props);
  const queue = new AgentQueue(stack, 'Queue');
  const agent = new AgentFunction(stack, 'Agent', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'api' }, { type: 'job' }] }), api, queue, state: new AgentStateTable(stack, 'State') });
  return {
    stack,
    api,
    queue,
    agent,
    // Synthesized on first read, so a test may add to the stack before it looks.
    get template() {
      return Template.fromStack(stack);
    },
  };
}

function method(template: Template, path: 'invocations' | 'jobs') {
  const methods = template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST', ResourceId: { Ref: Match.stringLikeRegexp(`Apiagentsname${path}`) } } });
  const [m] = Object.values(methods) as { Properties: Record<string, any> }[];
  assert.ok(m, `POST ${path} exists`);
  return m.Properties;
}

const requestTemplate = (m: Record<string, any>) => JSON.stringify(m.Integration.RequestTemplates['application/json']);

describe('AgentApi', () => {
  it('authenticates every route with IAM and validates body and path', () => {
    const { template } = build();
    for (const path of ['invocations', 'jobs'] as const) {
      const m = method(template, path);
      assert.equal(m.AuthorizationType, 'AWS_IAM');
      assert.deepEqual(m.RequestParameters, { 'method.request.path.name': true });
      assert.match(m.RequestModels['application/json'].Ref, /^ApiAgentRequest/);
      assert.ok(m.RequestValidatorId);
    }
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    template.hasResourceProperties('AWS::ApiGateway::Model', { ContentType: 'application/json', Schema: Match.objectLike({ required: ['input'], additionalProperties: false }) });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'BAD_REQUEST_BODY', ResponseTemplates: { 'application/json': Match.stringLikeRegexp('validationErrorString') } });
  });

  it('logs access as JSON, traces, throttles and keeps bodies out of execution logs', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
      MethodSettings: [Match.objectLike({ DataTraceEnabled: false, LoggingLevel: 'ERROR', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, HttpMethod: '*', ResourcePath: '/*' })],
    });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 }, DeletionPolicy: 'Retain' });
  });

  it('adds no API resources per agent: both routes are shared', () => {
    const stack = testStack(new App());
    const api = new AgentApi(stack, 'Api');
    const state = new AgentStateTable(stack, 'State');
    for (const name of ['a', 'b', 'c']) {
      new AgentFunction(stack, name, { agent: agentInput({ name, model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'api' }, { type: 'job' }] }), api, queue: new AgentQueue(stack, `${name}Queue`), state });
    }
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::Resource', 5);
    template.resourceCountIs('AWS::ApiGateway::Method', 3);
    template.resourceCountIs('AWS::Lambda::Permission', 0);
    const mapped = [...requestTemplate(method(template, 'invocations')).matchAll(/\{"Ref":"(\w)Function\w+"\}/g)].map((m) => m[1]);
    assert.deepEqual(mapped, ['a', 'b', 'c', 'a'], 'each agent in the name map, then the dry-run target');
  });

  it('invokes the named agent through its own role, and dry-runs unknown names to answer 404', () => {
    const { template, stack, agent } = build();
    const m = method(template, 'invocations');
    assert.equal(m.Integration.Type, 'AWS');
    assert.match(JSON.stringify(m.Integration.Uri), /:apigateway:eu-west-1:lambda:path\/2015-03-31\/functions\/\{function\}\/invocations"/);
    const request = requestTemplate(m);
    assert.match(request, /X-Amz-Invocation-Type = \\"DryRun\\"/);
    assert.match(request, /\\"kind\\":\\"invocation\\"/);
    const [ok, failed] = m.Integration.IntegrationResponses;
    assert.match(ok.ResponseTemplates['application/json'], /responseOverride.status = 404/);
    assert.match(ok.ResponseTemplates['application/json'], /responseOverride.status = \$r.statusCode/);
    assert.deepEqual([failed.StatusCode, failed.SelectionPattern], ['502', '.+']);
    const fn = stack.getLogicalId(agent.function.node.defaultChild as lambda.CfnFunction);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fn, 'Arn'] } }]) },
    });
  });

  it('waits longer for synchronous answers only when raised, and then lets agents run that long', () => {
    const stack = testStack(new App());
    const api = new AgentApi(stack, 'Api', { integrationTimeout: cdk.Duration.seconds(60) });
    new AgentFunction(stack, 'Agent', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'api', timeoutSeconds: 60 }], limits: { timeoutSeconds: 300 } }), api });
    const template = Template.fromStack(stack);
    assert.equal(method(template, 'invocations').Integration.TimeoutInMillis, 60_000);
    assert.equal(method(build().template, 'invocations').Integration.TimeoutInMillis, undefined, 'API Gateway\'s own 29 s by default');
  });

  it('hands jobs to the agent function, which may send to its own queue only, and answers with its status', () => {
    const { template, stack, queue, agent } = build();
    const m = method(template, 'jobs');
    assert.match(JSON.stringify(m.Integration.Uri), /:apigateway:eu-west-1:lambda:path\/2015-03-31\/functions\/\{function\}\/invocations/);
    const request = requestTemplate(m);
    assert.match(request, /\\"route\\":\\"jobs\\"/);
    assert.match(request, /X-Amz-Invocation-Type = \\"DryRun\\"/);
    const responses = m.Integration.IntegrationResponses.map((r: { StatusCode: string; SelectionPattern?: string }) => [r.StatusCode, r.SelectionPattern]);
    assert.deepEqual(responses, [['202', undefined], ['502', '.+']]);
    assert.deepEqual(m.MethodResponses.map((r: { StatusCode: string }) => r.StatusCode), ['202', '400', '404', '409', '500', '502']);
    const q = stack.getLogicalId(queue.queue.node.defaultChild as sqs.CfnQueue);
    const fn = stack.getLogicalId(agent.function.node.defaultChild as lambda.CfnFunction);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ [RUNTIME_ENV.queueUrl]: { Ref: q } }) } });
    const sends = agentRoleStatements(template).filter((st) => [st.Action].flat().includes('sqs:SendMessage'));
    assert.deepEqual(sends.map((st) => st.Resource), [{ 'Fn::GetAtt': [q, 'Arn'] }], 'one send grant, on the agent queue');
    const apiStatements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }).Properties.PolicyDocument.Statement);
    assert.ok(!apiStatements.some((st) => [st.Action].flat().some((a) => a.startsWith('sqs:'))), 'the API sends to no queue');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fn, 'Arn'] } }]) },
    });
  });

  it('lets only API Gateway for this API in this account assume the integration role', () => {
    build().template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'apigateway.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ],
      },
    });
  });

  it('takes Cognito user pools with scopes instead of IAM', () => {
    const stack = testStack(new App());
    const pool = new cognito.UserPool(stack, 'Pool');
    const { template } = build({ authorization: AgentApiAuthorization.cognito([pool], ['agents/invoke']) }, stack);
    const m = method(template, 'invocations');
    assert.equal(m.AuthorizationType, 'COGNITO_USER_POOLS');
    assert.deepEqual(m.AuthorizationScopes, ['agents/invoke']);
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
  });

  it('takes any authorizer, such as a JWT-checking Lambda', () => {
    const stack = testStack(new App());
    const fn = new lambda.Function(stack, 'Jwt', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>({})') });
    const { template } = build({ authorization: AgentApiAuthorization.authorizer(new apigw.TokenAuthorizer(stack, 'Auth', { handler: fn })) }, stack);
    assert.equal(method(template, 'jobs').AuthorizationType, 'CUSTOM');
  });

  it('is anonymous only when asked for with a reason, which is recorded beside the finding', () => {
    const app = reportingApp();
    const stack = testStack(app);
    build({ authorization: AgentApiAuthorization.anonymous('Public demo behind a CloudFront function that checks a shared key.') }, stack);
    assert.equal(method(Template.fromStack(stack), 'invocations').AuthorizationType, 'NONE');
    const outcome = synthWithRulePacks(app);
    assert.deepEqual(outcome.open, []);
    assert.ok(outcome.acknowledged.some((a) => a.rule === 'AwsSolutions-APIG4' && /CloudFront function/.test(a.reason)));
  });

  it('grants callers execute-api:Invoke on the agent routes of its stage: run, submit, read status', () => {
    const stack = testStack(new App());
    const { api } = build({}, stack);
    api.grantInvoke(new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() }));
    const route = (path: string) => ({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`/v1/${path.replace(/\*/g, '\\*')}$`)])] });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Caller') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'execute-api:Invoke', Resource: [route('POST/agents/*'), route('GET/agents/*/jobs/*')] })] },
    });
  });

  it('takes overrides of throttling, stage name and the account logging role', () => {
    const { template } = build({ rateLimit: 5, burstLimit: 10, stageName: 'prod', cloudWatchRole: false });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod', MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 })] });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('declares the account\'s logging role once per account and region in an app, the other APIs\' stacks deploying after', () => {
    const app = new App();
    const at = (id: string, region: string) => {
      const stack = new Stack(app, id, { env: { account: '123456789012', region } });
      new AgentApi(stack, 'Api', { agents: [{ name: 'support' }] });
      return stack;
    };
    const [first, second, third, elsewhere] = [at('First', 'eu-west-1'), at('Second', 'eu-west-1'), at('Third', 'eu-west-1'), at('Elsewhere', 'us-east-1')];
    assert.deepEqual([first, second, third, elsewhere].map((s) => Template.fromStack(s).findResources('AWS::ApiGateway::Account')).map((r) => Object.keys(r).length), [1, 0, 0, 1]);
    assert.deepEqual(second.dependencies, [first]);
    assert.deepEqual(third.dependencies, [first]);
    assert.deepEqual(elsewhere.dependencies, []);
  });
});
