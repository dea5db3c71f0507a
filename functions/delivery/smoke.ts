import { createHash, createHmac } from 'node:crypto';
import type { AwsCredentialIdentity, Provider, SourceData } from '@smithy/types';

/**
 * The check a delivery pipeline runs after it deploys a stage: one agent asked one question
 * through the stage's API, as a client would (a signed request when the API takes IAM), and the
 * stage fails unless the agent answers correctly. Correctly means the route answered 200 with the
 * runtime's answer (it answers 200 only with output that passed the agent's validation), and the
 * answer matches what the check expects of it. A route that is still warming up (5xx, 429, a
 * connection refused) is asked again, a few times; a 4xx other than 429 is a wrong deployment and
 * fails at once.
 */
export interface SmokeTest {
  /** The API's URL with its stage, as the stack's output gives it: `https://ID.execute-api.REGION.amazonaws.com/v1/`. */
  readonly apiUrl: string;
  readonly agent: string;
  /** What the agent is asked. */
  readonly input: string | Record<string, unknown>;
  /** What its answer (its structured output as JSON, or its text) must match. @default any answer */
  readonly expect?: RegExp;
  /** Signs the request when the API takes IAM (`AgentApi`'s default): the region and the caller's credentials. */
  readonly sign?: { readonly region: string; readonly credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity> };
  /** Attempts in all, for a route still warming up. @default 4 */
  readonly attempts?: number;
  /** Milliseconds one attempt may take. @default 60000 */
  readonly timeoutMs?: number;
  /** Milliseconds before the second attempt, doubled each time. @default 2000 */
  readonly backoffMs?: number;
}

export interface SmokeResult {
  readonly runId: string;
  readonly attempts: number;
  readonly answer: string;
}

/** Why a stage's check failed, in words for the pipeline's log. */
export class SmokeTestFailed extends Error {
  override readonly name = 'SmokeTestFailed';
}

export async function smokeTest(test: SmokeTest, fetchImpl: typeof fetch = fetch, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<SmokeResult> {
  const url = new URL(`agents/${encodeURIComponent(test.agent)}/invocations`, test.apiUrl.endsWith('/') ? test.apiUrl : `${test.apiUrl}/`);
  const body = JSON.stringify({ input: test.input });
  const attempts = test.attempts ?? 4;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep((test.backoffMs ?? 2000) * 2 ** (attempt - 2));
    let response: Response;
    try {
      const headers = await requestHeaders(url, body, test.sign);
      response = await fetchImpl(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(test.timeoutMs ?? 60_000) });
    } catch (e) {
      last = `the request failed: ${(e as Error).message}`;
      continue;
    }
    const text = await response.text();
    if (response.status === 429 || response.status >= 500) {
      last = `the API answered ${response.status}: ${text.slice(0, 300)}`;
      continue;
    }
    if (response.status !== 200) throw new SmokeTestFailed(`agent ${test.agent} at ${url.href}: the API answered ${response.status}, which asking again will not change: ${text.slice(0, 300)}`);
    let answer: { runId?: unknown; output?: unknown; structuredOutput?: unknown };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      throw new SmokeTestFailed(`agent ${test.agent} at ${url.href}: the answer is not JSON: ${text.slice(0, 300)}`);
    }
    if (typeof answer.runId !== 'string' || (typeof answer.output !== 'string' && answer.structuredOutput === undefined)) {
      throw new SmokeTestFailed(`agent ${test.agent} at ${url.href}: the answer is not an agent's answer (no runId and output): ${text.slice(0, 300)}`);
    }
    const said = answer.structuredOutput !== undefined ? JSON.stringify(answer.structuredOutput) : String(answer.output);
    if (test.expect && !test.expect.test(said)) throw new SmokeTestFailed(`agent ${test.agent} at ${url.href}: run ${answer.runId} answered, but not as expected (${test.expect}): ${said.slice(0, 300)}`);
    return { runId: answer.runId, attempts: attempt, answer: said };
  }
  throw new SmokeTestFailed(`agent ${test.agent} at ${url.href}: no answer in ${attempts} attempts; the last: ${last}`);
}

/** The request's headers, signed with Signature Version 4 for `execute-api` when `sign` is given. */
async function requestHeaders(url: URL, body: string, sign: SmokeTest['sign']): Promise<Record<string, string>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', host: url.host };
  if (!sign) return headers;
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const signer = new SignatureV4({ service: 'execute-api', region: sign.region, credentials: sign.credentials, sha256: NodeSha256 });
  const signed = await signer.sign({ method: 'POST', protocol: url.protocol, hostname: url.hostname, ...(url.port && { port: Number(url.port) }), path: url.pathname, query: {}, headers, body });
  return signed.headers as Record<string, string>;
}

/** SHA-256 (HMAC with a secret) as the signer asks for it, from Node's own crypto. */
export class NodeSha256 {
  private readonly hash;

  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }

  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const bytes = (data: SourceData): string | Uint8Array => (typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data));
