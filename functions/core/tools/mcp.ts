import type { AgentTool } from '../../../contract/definition/schema';
import { ToolError, type ToolContext, type ToolTransport } from './types';

type McpTool = Extract<AgentTool, { kind: 'mcp' }>;

/**
 * Calls tools on MCP servers over streamable HTTP with the official SDK. One client per server,
 * kept across warm invocations (the SDK is loaded only when an agent has an MCP tool); a broken
 * session is dropped and the call tried once more on a fresh one.
 */
export class McpToolTransport implements ToolTransport<McpTool> {
  private readonly clients = new Map<string, Promise<McpClient>>();

  async call(tool: McpTool, input: unknown, context: ToolContext): Promise<string> {
    try {
      return await this.callOnce(tool, input, context);
    } catch (e) {
      if (e instanceof ToolError) throw e;
      this.drop(tool.url);
      try {
        return await this.callOnce(tool, input, context);
      } catch (again) {
        this.drop(tool.url);
        throw again instanceof ToolError ? again : new ToolError(`MCP tool "${tool.name}" failed: ${(again as Error).message}`);
      }
    }
  }

  /** Closes every session (tests, shutdown). */
  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map(async (c) => (await c.catch(() => undefined))?.close()));
  }

  private async callOnce(tool: McpTool, input: unknown, context: ToolContext): Promise<string> {
    const client = await this.client(tool.url);
    const result = (await client.callTool(
      {
        name: tool.remoteName ?? tool.name,
        arguments: (input ?? {}) as Record<string, unknown>,
        _meta: { runId: context.runId, ...(context.idempotencyKey && { idempotencyKey: context.idempotencyKey }) },
      },
      undefined,
      { ...(context.signal && { signal: context.signal }) },
    )) as { content?: { type: string; text?: string }[]; isError?: boolean; structuredContent?: unknown };
    const text = result.structuredContent !== undefined && !result.content?.length
      ? JSON.stringify(result.structuredContent)
      : (result.content ?? []).map((c) => (c.type === 'text' ? (c.text ?? '') : `[${c.type} content]`)).join('\n');
    if (result.isError) throw new ToolError(`MCP tool "${tool.name}" reported an error: ${text}`);
    return text;
  }

  private client(url: string): Promise<McpClient> {
    let client = this.clients.get(url);
    if (!client) {
      client = connect(url);
      this.clients.set(url, client);
      client.catch(() => this.clients.delete(url));
    }
    return client;
  }

  private drop(url: string): void {
    const client = this.clients.get(url);
    this.clients.delete(url);
    void client?.then((c) => c.close()).catch(() => undefined);
  }
}

type McpClient = Awaited<ReturnType<typeof connect>>;

async function connect(url: string) {
  const [{ Client }, { StreamableHTTPClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]);
  const client = new Client({ name: 'serverless-agents', version: '0.1.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}
