import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AgentApi, AgentFunction, AgentStateTable } from '../../constructs/aws';
import { isInvocation } from '../../contract/api/invocation';
import { parseRequestBody, requestBodySchema } from '../../contract/api/request';
import { STATE_KEYS, STATE_TABLE } from '../../contract/state/table';
import { renderTemplate } from '../__fixtures__/api-gateway-vtl';
import { agentInput, testStack } from '../helpers';
import { z } from 'zod';

/**
 * The API's side of the contract, rendered: the synthesized mapping templates, run by a real
 * Velocity engine, must build exactly what the runtime reads (contract/api), and read exactly
 * what the runtime writes (contract/state).
 */
function synthesized(durable = false) {
  const stack = testStack(new App());
  const state = new AgentStateTable(stack, 'State');
  const api = new AgentApi(stack, 'Api', { state });
  new AgentFunction(stack, 'Agent', { agent: agentInput({ name: 'support', model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'api' }, { type: 'job' }], durable }), api });
  const template = Template.fromStack(stack);
  const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as { Properties: Record<string, any> }[];
  const method = (verb: string, service: string, route?: string) => {
    const found = methods.find(
      (m) => m.Properties.HttpMethod === verb && JSON.stringify(m.Properties.Integration.Uri).includes(`:${service}:`) && (!route || JSON.stringify(m.Properties.Integration.RequestTemplates).includes(`\\"route\\":\\"${route}\\"`)),
    )!;
    const resolve = (value: unknown) => (typeof value === 'string' ? value : stack.resolve(value) && JSON.stringify(value).replace(/^"|"$/g, ''));
    return {
      request: String(resolve(flatten(found.Properties.Integration.RequestTemplates['application/json']))),
      responses: found.Properties.Integration.IntegrationResponses as { StatusCode: string; SelectionPattern?: string; ResponseTemplates: Record<string, string> }[],
    };
  };
  const [model] = Object.values(template.findResources('AWS::ApiGateway::Model')) as { Properties: { Schema: Record<string, unknown> } }[];
  return {
    invoke: method('POST', 'lambda', 'invocations'),
    submit: method('POST', 'lambda', 'jobs'),
    status: method('GET', 'dynamodb'),
    model: model!.Properties.Schema,
    ...(durable && { approvals: method('POST', 'lambda', 'approvals'), cancel: method('POST', 'lambda', 'cancel') }),
  };
}

/** A synthesized template string; tokens (function and table names) become readable placeholders. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replace(/[^A-Za-z0-9]/g, '')}>`)).join(join[0]);
  return JSON.stringify(value);
}

describe('the API templates and the runtime agree', () => {
  const api = synthesized();
  const body = { input: 'My order ord_12345678 "arrived" broken', idempotencyKey: 'ticket-77' };

  it('builds the invocation envelope the Lambda handler recognizes, with the body as sent', () => {
    const rendered = renderTemplate(api.invoke.request, { params: { name: 'support' }, body, requestId: 'req-42', callerArn: 'arn:aws:iam::123456789012:role/caller', path: '/v1/agents/support/invocations' });
    const envelope = JSON.parse(rendered.output) as unknown;
    assert.ok(isInvocation(envelope), rendered.output);
    assert.deepEqual(envelope, {
      kind: 'invocation',
      route: 'invocations',
      agent: 'support',
      path: '/v1/agents/support/invocations',
      requestId: 'req-42',
      requestTimeEpoch: 1_796_083_200_000,
      caller: 'arn:aws:iam::123456789012:role/caller',
      // No Cognito groups (IAM authorization), and no job in the path of this route.
      roles: '',
      jobId: '',
      body,
    });
    assert.ok(parseRequestBody(envelope.body).ok);
    assert.match(rendered.requestOverride.path.function!, /^<.*Agent.*Function.*>$/);
    assert.equal(rendered.requestOverride.header['X-Amz-Invocation-Type'], undefined);
  });

  it("builds a durable agent's approvals and cancel envelopes with the job from the path and the caller's groups, never from the body", () => {
    const durable = synthesized(true);
    const claims = { 'cognito:groups': 'finance-lead,support', sub: 'user-7' };
    const approvals = JSON.parse(renderTemplate(durable.approvals!.request, { params: { name: 'support', jobId: 'job-9' }, body: { decision: 'approve', by: 'someone else' }, claims }).output) as Record<string, unknown>;
    assert.ok(isInvocation(approvals));
    assert.deepEqual([approvals.route, approvals.jobId, approvals.roles, approvals.caller], ['approvals', 'job-9', 'finance-lead,support', 'user-7']);
    assert.deepEqual(approvals.body, { decision: 'approve', by: 'someone else' }, 'the body goes as sent; the runtime refuses a "by" in it');
    const cancel = JSON.parse(renderTemplate(durable.cancel!.request, { params: { name: 'support', jobId: 'job-9' }, body: { anything: true } }).output) as Record<string, unknown>;
    assert.deepEqual([cancel.route, cancel.jobId, cancel.body], ['cancel', 'job-9', {}]);
  });

  it('dry-runs an unknown agent and answers 404; passes a known agent\'s status and body through', () => {
    const unknown = renderTemplate(api.invoke.request, { params: { name: 'nobody' }, body });
    assert.equal(unknown.output, '{}');
    assert.equal(unknown.requestOverride.header['X-Amz-Invocation-Type'], 'DryRun');
    const ok = api.invoke.responses.find((r) => r.StatusCode === '200')!.ResponseTemplates['application/json']!;
    const dryRun = renderTemplate(ok, { params: {}, body: '' });
    assert.equal(dryRun.responseOverride.status, 404);
    assert.equal(JSON.parse(dryRun.output).message, 'no agent by that name takes invocations');
    const answered = renderTemplate(ok, { params: {}, body: { statusCode: 422, body: '{"message":"the answer failed validation"}' } });
    assert.equal(answered.responseOverride.status, 422);
    assert.deepEqual(JSON.parse(answered.output), { message: 'the answer failed validation' });
  });

  it('hands a job to the agent function in the same envelope, on the jobs route, and 404s an agent that takes none', () => {
    const rendered = renderTemplate(api.submit.request, { params: { name: 'support' }, body, requestId: 'req-43', callerArn: 'arn:aws:iam::123456789012:role/caller', path: '/v1/agents/support/jobs' });
    const envelope = JSON.parse(rendered.output) as unknown;
    assert.ok(isInvocation(envelope), rendered.output);
    assert.deepEqual([envelope.route, envelope.path, envelope.requestId, envelope.caller], ['jobs', '/v1/agents/support/jobs', 'req-43', 'arn:aws:iam::123456789012:role/caller']);
    assert.deepEqual(envelope.body, body);
    assert.match(rendered.requestOverride.path.function!, /^<.*Agent.*Function.*>$/);
    const unknown = renderTemplate(api.submit.request, { params: { name: 'nobody' }, body });
    assert.equal(unknown.requestOverride.header['X-Amz-Invocation-Type'], 'DryRun');
    const ok = api.submit.responses.find((r) => r.StatusCode === '202')!.ResponseTemplates['application/json']!;
    assert.equal(JSON.parse(renderTemplate(ok, { params: {}, body: '' }).output).message, 'no agent by that name takes jobs');
    const answered = renderTemplate(ok, { params: {}, body: { statusCode: 409, body: '{"message":"idempotency key \\"k\\" was already used"}' } });
    assert.equal(answered.responseOverride.status, 409);
  });

  it('reads job status under the key the runtime writes, and returns the record as written', () => {
    const rendered = renderTemplate(api.status.request, { params: { name: 'support', jobId: 'req-43' }, body: {} });
    const getItem = JSON.parse(rendered.output) as { Key: Record<string, { S: string }>; ConsistentRead: boolean };
    assert.deepEqual(getItem.Key, { [STATE_TABLE.partitionKey]: { S: STATE_KEYS.job('support', 'req-43') } });
    assert.equal(getItem.ConsistentRead, true);
    const template = api.status.responses.find((r) => r.StatusCode === '200')!.ResponseTemplates['application/json']!;
    const record = { jobId: 'req-43', agent: 'support', status: 'succeeded', updatedAt: '2026-12-01T00:00:00Z', output: 'done' };
    const found = renderTemplate(template, { params: {}, body: { Item: { [STATE_TABLE.record]: { S: JSON.stringify(record) } } } });
    assert.deepEqual(JSON.parse(found.output), record);
    const missing = renderTemplate(template, { params: {}, body: {} });
    assert.equal(missing.responseOverride.status, 404);
  });

  it('validates requests with a model derived from the runtime\'s request schema: both accept and refuse the same bodies', () => {
    const model = Object.fromEntries(Object.entries(api.model).map(([k, v]) => [k === 'schema' ? '$schema' : k, v]));
    const gateway = z.fromJSONSchema(model as Parameters<typeof z.fromJSONSchema>[0]);
    const bodies: unknown[] = [
      body,
      { input: { orderId: 'ord_1' } },
      { input: 'x', sessionId: 'abc:1' },
      {},
      { input: '' },
      { input: 'x'.repeat(100_001) },
      { input: 'x', extra: true },
      { input: 'x', sessionId: 'has space' },
      { input: 'x', idempotencyKey: 'k'.repeat(129) },
      { input: 42 },
      { input: ['a'] },
      'a string',
    ];
    for (const candidate of bodies) {
      assert.equal(gateway.safeParse(candidate).success, requestBodySchema.safeParse(candidate).success, JSON.stringify(candidate).slice(0, 80));
    }
  });
});
