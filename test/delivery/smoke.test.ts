import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, smokeTest, SmokeTestFailed } from '../../functions/delivery/smoke';
import { startLoopback, type LoopbackReply, type LoopbackServer, type RecordedRequest } from '../__fixtures__/loopback';

/**
 * The stage check a pipeline runs after a deploy, against a loopback API that answers as
 * AgentApi's route does and checks each request's Signature Version 4 by signing it again with
 * the same key, at the time the request says it was signed.
 */

const credentials = { accessKeyId: 'AKIDSMOKE', secretAccessKey: 'smoke-secret' };
const answers: (LoopbackReply | 'reset')[] = [];
let api: LoopbackServer;

/** What the API's IAM authorizer would do: the signature is the one the key makes for exactly this request. */
async function signatureHolds(request: RecordedRequest, host: string): Promise<boolean> {
  const header = (name: string) => String(request.headers[name] ?? '');
  const amzDate = header('x-amz-date');
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const expected = await new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials, sha256: NodeSha256 }).sign(
    { method: request.method, protocol: 'http:', hostname: host.split(':')[0]!, port: Number(host.split(':')[1]), path: request.path, query: {}, headers: { 'content-type': header('content-type'), host }, body: JSON.stringify(request.body) },
    { signingDate },
  );
  return header('authorization') === expected.headers.authorization && /^AWS4-HMAC-SHA256 Credential=AKIDSMOKE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;/.test(header('authorization'));
}

before(async () => {
  api = await startLoopback(async (request) => {
    const next = answers.shift() ?? { status: 500, body: { message: 'no answer scripted' } };
    if (next === 'reset') return { fault: 'reset' };
    const host = String(request.headers.host);
    if (request.headers.authorization && !(await signatureHolds(request, host))) return { status: 403, body: { message: 'The request signature we calculated does not match the signature you provided.' } };
    return next;
  });
});
after(() => api?.close());

const base = () => ({ apiUrl: `${api.url}/v1`, agent: 'support', input: 'I was charged twice for order ord_12345678.', backoffMs: 1 });
const ok = (structuredOutput: unknown): LoopbackReply => ({ status: 200, body: { runId: 'run-1', output: JSON.stringify(structuredOutput), structuredOutput } });

describe('the stage check after a deploy', () => {
  it('asks the agent through its route with a signed request and passes on a correct answer', async () => {
    answers.push(ok({ category: 'billing', severity: 'sev3' }));
    const result = await smokeTest({ ...base(), expect: /"category":"billing"/, sign: { region: 'eu-west-1', credentials } });
    assert.deepEqual(result, { runId: 'run-1', attempts: 1, answer: '{"category":"billing","severity":"sev3"}' });
    const sent = api.requests.at(-1)!;
    assert.deepEqual([sent.method, sent.path, sent.body], ['POST', '/v1/agents/support/invocations', { input: 'I was charged twice for order ord_12345678.' }]);
    assert.ok(await signatureHolds(sent, String(sent.headers.host)), 'a signature the API accepts');
  });

  it('fails a signature made with another key, as the API would refuse it (the check can fail)', async () => {
    answers.push(ok({ category: 'billing' }));
    await assert.rejects(smokeTest({ ...base(), sign: { region: 'eu-west-1', credentials: { ...credentials, secretAccessKey: 'wrong' } } }), /the API answered 403, which asking again will not change: .*signature/);
  });

  it('asks again while the stage warms up (5xx, 429, a dropped connection), then passes', async () => {
    answers.push({ status: 502, body: { message: 'Internal server error' } }, { status: 429, body: { message: 'Too Many Requests' } }, 'reset', ok({ category: 'billing' }));
    const result = await smokeTest({ ...base(), attempts: 4 });
    assert.equal(result.attempts, 4);
  });

  it('fails the stage, saying why: an answer not as expected, a route that refuses, no answer in its attempts, not an agent\'s answer', async () => {
    answers.push(ok({ category: 'shipping' }));
    await assert.rejects(smokeTest({ ...base(), expect: /"category":"billing"/ }), (e: Error) => e instanceof SmokeTestFailed && /run run-1 answered, but not as expected \(\/"category":"billing"\/\): \{"category":"shipping"\}/.test(e.message));
    answers.push({ status: 404, body: { message: 'no agent named "support" here' } });
    await assert.rejects(smokeTest(base()), /the API answered 404, which asking again will not change: .*no agent named/);
    answers.push({ status: 422, body: { message: 'the answer failed validation' } });
    await assert.rejects(smokeTest(base()), /the API answered 422/);
    answers.push({ status: 503, body: {} }, { status: 503, body: {} });
    await assert.rejects(smokeTest({ ...base(), attempts: 2 }), /no answer in 2 attempts; the last: the API answered 503/);
    answers.push({ status: 200, body: '<html>gateway</html>' });
    await assert.rejects(smokeTest(base()), /the answer is not JSON/);
    answers.push({ status: 200, body: { message: 'ok' } });
    await assert.rejects(smokeTest(base()), /not an agent's answer \(no runId and output\)/);
  });
});

describe('npm run smoke', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bin/smoke.ts', ...args], { env: { ...process.env, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true', ...env } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });

  it('signs with the credentials the SDK finds, exits 0 on a correct answer and 1 saying why otherwise', async () => {
    answers.push(ok({ category: 'billing' }));
    const passed = await run(['--api-url', `${api.url}/v1/`, '--agent', 'support', '--input', 'Charged twice.', '--expect', '"category":"billing"', '--region', 'eu-west-1']);
    assert.equal(passed.code, 0, passed.out);
    assert.match(passed.out, /agent support answered correctly \(run run-1, attempt 1\)/);
    answers.push(ok({ category: 'shipping' }));
    const failed = await run(['--agent', 'support', '--input', 'Charged twice.', '--expect', '"category":"billing"', '--region', 'eu-west-1'], { SMOKE_API_URL: `${api.url}/v1/` });
    assert.equal(failed.code, 1);
    assert.match(failed.out, /answered, but not as expected/);
    const unusable = await run(['--agent', 'support']);
    assert.equal(unusable.code, 1);
    assert.match(unusable.out, /usage: smoke --api-url URL/);
  });
});
