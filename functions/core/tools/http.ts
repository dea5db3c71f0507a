import type { AgentTool } from '../../../contract/definition/schema';
import { ToolError, type ToolContext, type ToolTransport } from './types';

type HttpTool = Extract<AgentTool, { kind: 'http' }>;

/** The longest response body handed back to the model; the rest is cut, and the model is told. */
const MAX_RESPONSE_CHARS = 50_000;

/**
 * Calls HTTP tools: only https, only hosts on the allow-list (the hosts of the agent's own HTTP
 * tools unless configured otherwise), never following a redirect off it, within the tool's timeout.
 * A write tool's idempotency key goes in the `Idempotency-Key` header.
 */
export class HttpToolTransport implements ToolTransport<HttpTool> {
  private readonly allowedHosts: ReadonlySet<string>;

  constructor(
    allowedHosts: Iterable<string>,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.allowedHosts = new Set(allowedHosts);
  }

  async call(tool: HttpTool, input: unknown, context: ToolContext): Promise<string> {
    const url = new URL(tool.url);
    if (url.protocol !== 'https:' && !isLoopback(url)) throw new ToolError(`tool "${tool.name}" must use https`);
    if (!this.allowedHosts.has(url.host)) throw new ToolError(`host ${url.host} is not on this agent's allow-list`);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'serverless-agents', 'x-agent-run-id': context.runId };
    if (context.idempotencyKey) headers['idempotency-key'] = context.idempotencyKey;
    let body: string | undefined;
    if (tool.method === 'GET' || tool.method === 'DELETE') {
      for (const [k, v] of Object.entries((input ?? {}) as Record<string, unknown>)) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(input ?? {});
    }
    const signal = context.signal ? AbortSignal.any([context.signal, AbortSignal.timeout(tool.timeoutMs)]) : AbortSignal.timeout(tool.timeoutMs);
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method: tool.method, headers, ...(body !== undefined && { body }), redirect: 'error', signal });
    } catch (e) {
      const timedOut = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError';
      throw new ToolError(timedOut ? `tool "${tool.name}" did not answer within ${tool.timeoutMs} ms` : `tool "${tool.name}" could not be reached: ${(e as Error).message}`);
    }
    const text = await response.text();
    const clipped = text.length > MAX_RESPONSE_CHARS ? `${text.slice(0, MAX_RESPONSE_CHARS)}\n[response cut at ${MAX_RESPONSE_CHARS} characters]` : text;
    if (!response.ok) throw new ToolError(`tool "${tool.name}" answered HTTP ${response.status}: ${clipped.slice(0, 2000)}`, response.status);
    return clipped;
  }
}

/** Loopback http is allowed so the transport can be tested and run against local services. */
function isLoopback(url: URL): boolean {
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]');
}
