import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { defineAgent } from '../../contract/definition';
import { OPEN_TOOL_POLICY } from '../../contract/policy/tool-policy';
import { readSkillsFolder } from '../../contract/skills/catalog';
import { LambdaInvoker, S3SkillStore } from '../../functions/aws/adapters';
import { PowertoolsMetrics } from '../../functions/aws/runtime';
import { Agent } from '../../functions/core/agent/agent';
import { MemoryAuditSink } from '../../functions/core/audit/records';
import { ModelRouter } from '../../functions/core/models/router';
import { AgentSkills } from '../../functions/core/skills/skills';
import { CachedSkillStore } from '../../functions/core/skills/store';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { FunctionToolTransport } from '../../functions/core/tools/function';
import { McpToolTransport } from '../../functions/core/tools/mcp';
import { agentInput, SKILLS } from '../helpers';
import { startLambdaFake, startS3Fake, type LambdaFake, type S3Fake } from '../__fixtures__/aws-fakes';
import { ScriptedProvider, scriptedFactory, type ScriptStep } from '../__fixtures__/scripted-provider';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** A real MCP server (the official SDK) over streamable HTTP on loopback, stateless. */
let mcp: { url: string; server: Server; calls: { name: string; args: unknown; meta: unknown }[] };
let lambda: LambdaFake;
let s3: S3Fake;
const exporter = new InMemorySpanExporter();

before(async () => {
  const calls: typeof mcp.calls = [];
  const server = createServer(async (req, res) => {
    const tools = new McpServer({ name: 'wiki', version: '1.0.0' });
    tools.registerTool('search_wiki', { description: 'Search the wiki', inputSchema: { query: z.string() } }, async ({ query }, extra) => {
      calls.push({ name: 'search_wiki', args: { query }, meta: extra._meta });
      return { content: [{ type: 'text', text: `3 pages mention ${query}` }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close());
    await tools.connect(transport);
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => void transport.handleRequest(req, res, body ? JSON.parse(body) : undefined));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  mcp = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server, calls };
  lambda = await startLambdaFake({ 'report-filer': (payload) => ({ filed: true, received: payload }) });
  // The Lambda adapter builds its own client, as in a function: point it at the fake the SDK's way.
  Object.assign(process.env, { AWS_ENDPOINT_URL_LAMBDA: lambda.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  const index = readSkillsFolder(SKILLS);
  s3 = await startS3Fake({ 'skills/index.json': JSON.stringify(index), 'skills/ticket-triage/SKILL.md': '---\nname: ticket-triage\ndescription: d\n---\n# Triage body\n' });
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});

after(async () => {
  mcp.server.closeAllConnections();
  mcp.server.close();
  await Promise.all([lambda.close(), s3.close()]);
});

async function agentWith(script: ScriptStep[]) {
  const definition = defineAgent(
    agentInput({
      tools: [
        { name: 'search_wiki', description: 'Search the wiki.', kind: 'mcp', url: mcp.url, input: { type: 'object', required: ['query'], properties: { query: { type: 'string' } } } },
        { name: 'file_report', description: 'File a report.', kind: 'function', function: 'report-filer', sideEffect: 'write', input: { type: 'object', properties: { title: { type: 'string' } } } },
      ],
    }),
  );
  const provider = new ScriptedProvider('m', script);
  const transports = {
    mcp: new McpToolTransport(),
    function: new FunctionToolTransport(new LambdaInvoker()),
  };
  const agent = new Agent(definition, {
    router: new ModelRouter([{ provider: 'bedrock', model: 'm' }], scriptedFactory({ m: provider })),
    skills: await AgentSkills.open({ read: async () => undefined }, []),
    transports,
    audit: new MemoryAuditSink(),
    metrics: new MemoryMetrics(),
    prices: {},
    toolPolicy: OPEN_TOOL_POLICY,
  });
  return { agent, provider, transports };
}

describe('tools, skills and telemetry against real clients', () => {
  it('calls an MCP tool on a real MCP server, passing the run id', async () => {
    const { agent, provider, transports } = await agentWith([{ toolUses: [{ name: 'search_wiki', input: { query: 'refunds' } }] }, { text: 'done' }]);
    await agent.run({ runId: 'run-mcp', input: 'find refunds', trigger: 'api', deadline: Date.now() + 30_000 });
    await transports.mcp.close();
    assert.deepEqual(mcp.calls.map((c) => c.args), [{ query: 'refunds' }]);
    assert.equal((mcp.calls[0]!.meta as { runId: string }).runId, 'run-mcp');
    const result = provider.requests[1]!.messages[2]!.content[0] as { content: string };
    assert.equal(result.content, '3 pages mention refunds');
  });

  it('invokes a function tool through the real Lambda client with its idempotency key', async () => {
    const { agent, provider } = await agentWith([{ toolUses: [{ name: 'file_report', input: { title: 'Q3' } }] }, { text: 'filed' }]);
    await agent.run({ runId: 'run-fn', input: 'file it', trigger: 'api', deadline: Date.now() + 30_000 });
    const call = lambda.invocations.at(-1)!;
    assert.equal(call.functionName, 'report-filer');
    const payload = call.payload as { input: unknown; runId: string; idempotencyKey: string };
    assert.deepEqual(payload.input, { title: 'Q3' });
    assert.equal(payload.runId, 'run-fn');
    assert.match(payload.idempotencyKey, /^[0-9a-f]{32}$/);
    assert.match((provider.requests[1]!.messages[2]!.content[0] as { content: string }).content, /"filed":true/);
  });

  it('reads skills from S3 with the real client, once per warm environment', async () => {
    const store = new CachedSkillStore(new S3SkillStore('skills', new S3Client({ endpoint: s3.url, region: 'us-east-1', credentials, forcePathStyle: true })));
    const skills = await AgentSkills.open(store, ['ticket-triage']);
    assert.equal(await skills.load('ticket-triage'), '# Triage body');
    await skills.load('ticket-triage');
    await AgentSkills.open(store, ['ticket-triage']);
    const gets = s3.requests.filter((r) => r.method === 'GET');
    assert.deepEqual(gets.map((r) => r.path.split('?')[0]), ['/skills/index.json', '/skills/ticket-triage/SKILL.md']);
  });

  it('emits invoke_agent, chat and execute_tool spans with gen_ai attributes', async () => {
    exporter.reset();
    const { agent, transports } = await agentWith([{ toolUses: [{ name: 'search_wiki', input: { query: 'x' } }] }, { text: 'done' }]);
    await agent.run({ runId: 'run-otel', input: 'go', trigger: 'job', deadline: Date.now() + 30_000 });
    await transports.mcp.close();
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name).sort(), ['chat m', 'chat m', 'execute_tool search_wiki', 'invoke_agent helper']);
    const root = spans.find((s) => s.name === 'invoke_agent helper')!;
    assert.equal(root.attributes['gen_ai.operation.name'], 'invoke_agent');
    assert.equal(root.attributes['gen_ai.agent.name'], 'helper');
    assert.equal(root.attributes['serverless_agents.cohort'], 'default');
    const chat = spans.find((s) => s.name === 'chat m')!;
    assert.equal(chat.attributes['gen_ai.request.model'], 'm');
    assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 100);
    assert.equal(spans.find((s) => s.name.startsWith('execute_tool'))!.attributes['gen_ai.tool.name'], 'search_wiki');
  });

  it('writes run metrics in CloudWatch embedded metric format by agent and cohort, and by cohort alone, at every flush', () => {
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      const metrics = new PowertoolsMetrics('support', 'support-team');
      metrics.add('InputTokens', 'Count', 1200);
      metrics.add('CostUsd', 'None', 0.0042);
      metrics.flush();
      metrics.add('Runs', 'Count', 1);
      // A long run: more values of one metric than Powertools holds before publishing on its own.
      for (let step = 0; step < 150; step++) metrics.add('OutputTokens', 'Count', 2);
      metrics.add('RunLatency', 'Milliseconds', 900);
      metrics.flush();
    } finally {
      process.stdout.write = write;
    }
    const emfLines = lines.filter((l) => l.includes('_aws')).map((l) => JSON.parse(l));
    assert.equal(emfLines.length, 2, 'one line a flush: nothing published before the agent is on it');
    const [emf, next] = emfLines;
    assert.deepEqual([next.Runs, next.OutputTokens, next.RunLatency, next.agent], [1, 300, 900, 'support']);
    assert.equal(emf._aws.CloudWatchMetrics[0].Namespace, 'ServerlessAgents');
    // The agent's metrics and its cohort's totals, from the same line; and again after a flush cleared them.
    for (const line of [emf, next]) assert.deepEqual(line._aws.CloudWatchMetrics[0].Dimensions.map((d: string[]) => [...d].sort()), [['agent', 'cohort', 'service'], ['cohort', 'service']]);
    assert.equal(emf.agent, 'support');
    assert.equal(emf.cohort, 'support-team');
    assert.equal(emf.InputTokens, 1200);
    assert.equal(emf.CostUsd, 0.0042);
  });
});

