import { z } from 'zod';
import { parseSchedule } from '../schedule/expression';
import { HANDOFF_TOOL } from '../chain/envelope';
import { jsonSchemaProblems } from './json-schema';
import { maxRunSeconds, PLACEMENT_LIMITS, PLACEMENTS } from '../placement/placement';

export { HANDOFF_TOOL };

/**
 * The agent definition: the one description of an agent that the AWS constructs, the Azure
 * constructs and the runtime all read. Everything an agent team changes lives here; everything a
 * platform team changes lives in the constructs around it.
 */

/** A DNS label short enough to prefix with a stack name and still fit a Lambda or Azure name. */
export const AGENT_NAME_MAX = 40;
const dnsLabel = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') })
    .min(1)
    .max(max)
    .regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, 'must be lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen')
    .refine((s) => !s.includes('--'), 'must not contain consecutive hyphens');

/** An agent's name, wherever one is given: in a definition, or listed by an API. */
export const agentNameSchema = dnsLabel(AGENT_NAME_MAX);

/** A JSON Schema for an object, kept as plain data so both clouds and the runtime can read it. */
const objectSchema = z
  .record(z.string(), z.unknown())
  .refine((s) => s.type === 'object', { message: 'must be a JSON Schema with "type": "object"', path: ['type'] })
  .superRefine((schema, ctx) => {
    if (schema.type !== 'object') return;
    for (const problem of jsonSchemaProblems(schema)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  });

/** Providers a definition may name directly; anything else is reached through a router alias. */
export const DIRECT_PROVIDERS = ['bedrock', 'anthropic', 'openai-compatible'] as const;

const modelRef = z.union(
  [
    z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a model alias such as "smart" or "fast"').describe('A model alias resolved by a ModelRouter'),
    z.strictObject({
      provider: z.enum(DIRECT_PROVIDERS),
      model: z.string().min(1),
    }),
  ],
  {
    error: (issue) => {
      const provider = (issue.input as { provider?: unknown } | null)?.provider;
      if (typeof issue.input === 'object' && issue.input !== null && DIRECT_PROVIDERS.includes(provider as never)) {
        return `{ provider: "${String(provider)}", model } needs the model id as text in model, and no other field`;
      }
      if (provider !== undefined) return `provider "${String(provider)}" is not one a definition can name (one of: ${DIRECT_PROVIDERS.join(', ')}); reach others through a model alias in the router`;
      return `must be a model alias such as "smart", or { provider, model } with a provider among ${DIRECT_PROVIDERS.join(', ')}`;
    },
  },
);

const instructions = z.union([
  z.string().min(1, 'must not be empty'),
  z.strictObject({ file: z.string().min(1) }),
]);

/** Seconds a durable run may take at most: a Lambda durable execution's limit, one year. */
export const DURABLE_MAX_SECONDS = 31_536_000;
/** Seconds one invocation may take: Lambda's 15 minutes, the shorter of the two clouds' limits for a run that is not durable. */
export const INVOCATION_MAX_SECONDS = 900;

/**
 * A person must approve each call of the tool before it runs: the run waits (durably, at no cost)
 * until someone named in `approvers` approves or rejects it, or `timeoutSeconds` pass, which rejects.
 */
const approval = z.strictObject({
  /**
   * Who may approve: caller identities as the API reports them (an IAM ARN or an Entra ID object
   * id), `*` matching any run of characters, or `role:NAME` for a caller holding that app role
   * (Entra ID) or in that group (Cognito).
   */
  approvers: z.array(z.string().min(1).max(256)).min(1, 'must name at least one approver'),
  timeoutSeconds: z.number().int().min(10).max(DURABLE_MAX_SECONDS).default(86_400),
});

const toolBase = {
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, underscores or hyphens'),
  description: z.string().min(1).max(1024),
  input: objectSchema,
  scopes: z.array(z.string().min(1)).default([]),
  sideEffect: z.enum(['read', 'write']).default('read'),
  approval: approval.optional(),
};

/** The input an agent tool takes unless it says otherwise: the task, as the called agent's prompt. */
export const AGENT_TOOL_INPUT = {
  type: 'object',
  required: ['task'],
  additionalProperties: false,
  properties: { task: { type: 'string', minLength: 1, description: 'The task, with everything the agent needs to know to do it' } },
} as const satisfies Record<string, unknown>;

/** Tools are reached over TLS; plain http only on the loopback interface, for local development. */
const httpsUrl = z
  .url({ protocol: /^https?$/, error: 'must be an https:// URL' })
  .refine((u) => u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(u), 'must be an https:// URL');

const tool = z.discriminatedUnion('kind', [
  z.strictObject({
    ...toolBase,
    kind: z.literal('http'),
    url: httpsUrl,
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  }),
  z.strictObject({
    ...toolBase,
    kind: z.literal('function'),
    /** The function to invoke: its name, `ACCOUNT:function:NAME`, or its ARN, each with an optional version or alias. */
    function: z
      .string()
      .regex(
        /^((arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:function:)|(\d{12}:function:))?[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/,
        'must be a Lambda function name, ACCOUNT:function:NAME, or a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME), each with an optional :VERSION or :ALIAS',
      ),
  }),
  z.strictObject({
    ...toolBase,
    kind: z.literal('agent'),
    /** The agent this tool runs, by its agent name. */
    agent: agentNameSchema,
    /**
     * `call`: the agent runs now and its answer is this tool's result (short work, within this
     * run's deadline). `job`: the task goes on the agent's queue, with its retries and dead-letter
     * queue, and this run waits for the job's result up to its deadline.
     */
    mode: z.enum(['call', 'job']).default('call'),
    /** What the model sends: by default one `task` text, which becomes the agent's prompt. */
    input: objectSchema.default(AGENT_TOOL_INPUT),
  }),
  z.strictObject({
    ...toolBase,
    kind: z.literal('mcp'),
    url: httpsUrl,
    /** The tool's name on the MCP server, when it differs from the name the model sees. */
    remoteName: z.string().min(1).optional(),
  }),
]);

const eventPattern = z
  .strictObject({
    source: z.array(z.string().min(1)).min(1).optional(),
    detailType: z.array(z.string().min(1)).min(1).optional(),
    detail: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((p) => p.source || p.detailType || p.detail, 'must match on at least one of source, detailType or detail');

const trigger = z.discriminatedUnion('type', [
  /** Synchronous invocation through the API. */
  z.strictObject({
    type: z.literal('api'),
    /**
     * The longest a synchronous run may take, within `limits.timeoutSeconds`: the run stops in time
     * to answer before the HTTP front end gives up (29 s on API Gateway unless its API raises it,
     * 230 s on Azure). Queued runs keep the whole of `limits.timeoutSeconds`.
     */
    timeoutSeconds: z.number().int().min(1).max(900).optional(),
  }),
  /** Asynchronous job through the API and the agent's queue. */
  z.strictObject({ type: z.literal('job') }),
  /** Messages that other systems send straight to the agent's queue. */
  z.strictObject({ type: z.literal('queue') }),
  z.strictObject({
    type: z.literal('schedule'),
    /** EventBridge's `rate(...)` or six-field `cron(...)`, checked as EventBridge checks it. */
    expression: z.string().superRefine((expression, ctx) => {
      const parsed = parseSchedule(expression);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
    }),
    input: z.string().min(1).describe('The prompt the scheduled run receives'),
  }),
  z.strictObject({ type: z.literal('event'), pattern: eventPattern }),
]);

const limits = z
  .strictObject({
    maxSteps: z.number().int().min(1).max(100).default(10),
    maxOutputTokens: z.number().int().min(1).max(128_000).default(4096),
    maxTotalTokens: z.number().int().min(1).max(10_000_000).default(200_000),
    /**
     * Wall time of one run; also the function timeout. Past 900 s (one invocation) the agent must
     * be durable, and its runs span as many invocations as they need.
     */
    timeoutSeconds: z.number().int().min(1).max(DURABLE_MAX_SECONDS).default(120),
    budgetUsd: z.number().positive().max(1000).default(1),
    /**
     * Hops a chain of delegations and hand-offs may take from the agent that started it: past it,
     * a hop is refused. The smallest limit along a chain applies.
     */
    maxHops: z.number().int().min(1).max(20).default(5),
    /**
     * How long a chain this agent starts may run, across every hop: hand-offs and jobs inherit
     * what is left of it, and a task that arrives after it is refused.
     * @default an hour, or timeoutSeconds when that is longer
     */
    chainTimeoutSeconds: z.number().int().min(1).max(DURABLE_MAX_SECONDS).optional(),
  })
  .refine((l) => l.maxOutputTokens <= l.maxTotalTokens, { message: 'must not exceed maxTotalTokens', path: ['maxOutputTokens'] })
  .refine((l) => l.chainTimeoutSeconds === undefined || l.chainTimeoutSeconds >= l.timeoutSeconds, { message: 'must be at least timeoutSeconds: a chain includes the run that starts it', path: ['chainTimeoutSeconds'] });

/** An agent this one may transfer the conversation to, over the bus. */
const handoff = z.union([
  agentNameSchema.transform((agent): { agent: string; description?: string } => ({ agent })),
  z.strictObject({
    agent: agentNameSchema,
    /** When to hand off to it, for the model. @default the agent's own description */
    description: z.string().min(1).max(1024).optional(),
  }),
]);

const rule = z.discriminatedUnion('check', [
  z.strictObject({ field: z.string().min(1), check: z.enum(['past', 'future', 'nonNegative', 'positive']), message: z.string().optional() }),
  z.strictObject({ field: z.string().min(1), check: z.enum(['min', 'max']), value: z.number(), message: z.string().optional() }),
  z.strictObject({ field: z.string().min(1), check: z.literal('pattern'), value: z.string().min(1), message: z.string().optional() }),
]);

const output = z
  .strictObject({
    schema: objectSchema,
    /** Business rules the structure alone can't say: a due date in the future, a positive price. */
    rules: z.array(rule).default([]),
    /** Runs whose reported confidence is lower fail validation. */
    minConfidence: z.number().min(0).max(1).optional(),
    /** Repair turns that show the model its validation errors. */
    maxRepairs: z.number().int().min(0).max(3).default(1),
  })
  .superRefine((o, ctx) => {
    const properties = (o.schema.properties ?? {}) as Record<string, unknown>;
    o.rules.forEach((r, i) => {
      const top = r.field.replace(/^\//, '').split(/[/.]/)[0]!;
      if (!(top in properties)) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'field'], message: `"${r.field}" is not a property of the output schema` });
      }
      if (r.check === 'pattern') {
        try {
          new RegExp(r.value);
        } catch {
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'value'], message: 'is not a valid regular expression' });
        }
      }
    });
  });

export const agentDefinitionSchema = z
  .strictObject({
    name: agentNameSchema,
    description: z.string().min(1).max(1024),
    model: modelRef,
    instructions,
    tools: z.array(tool).default([]),
    skills: z.array(z.string().min(1)).default([]),
    triggers: z.array(trigger).min(1, 'an agent needs at least one trigger (api, job, queue, schedule or event), or nothing could ever run it').default([{ type: 'api' }]),
    /** Agents this one may hand the conversation to; the model gets a `handoff` tool naming them. */
    handoffs: z.array(handoff).default([]),
    limits: limits.default({ maxSteps: 10, maxOutputTokens: 4096, maxTotalTokens: 200_000, timeoutSeconds: 120, budgetUsd: 1, maxHops: 5 }),
    output: output.optional(),
    /** The team or tenant the agent serves; picks the router policy and tool permissions. */
    cohort: dnsLabel(63).default('default'),
    /**
     * Runs survive crashes and deploys and may wait for people: each model turn and tool call is
     * a checkpointed step, replayed without calling anything again (Lambda durable functions, Azure
     * Durable Functions).
     */
    durable: z.boolean().default(false),
    /**
     * Where the agent runs: `function` (Lambda, Azure Functions), `container` (ECS Fargate, Azure
     * Container Apps) or, on AWS, `agentcore` (Bedrock AgentCore Runtime). The same runtime runs in
     * each; moving an agent is a change of this one field, within the placement's limits.
     */
    placement: z.enum(PLACEMENTS, { error: `must be one of: ${PLACEMENTS.join(', ')}` }).default('function'),
  })
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    d.tools.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tools', i, 'name'], message: `duplicates tool "${t.name}"` });
      seen.add(t.name);
    });
    d.tools.forEach((t, i) => {
      if (t.kind === 'agent' && t.agent === d.name) ctx.addIssue({ code: 'custom', path: ['tools', i, 'agent'], message: `names the agent itself ("${d.name}"); an agent cannot call itself` });
    });
    if (d.handoffs.length && seen.has(HANDOFF_TOOL)) ctx.addIssue({ code: 'custom', path: ['tools', d.tools.findIndex((t) => t.name === HANDOFF_TOOL), 'name'], message: `"${HANDOFF_TOOL}" is the built-in tool of an agent's handoffs; name the tool otherwise` });
    const targets = new Set<string>();
    d.handoffs.forEach((h, i) => {
      if (h.agent === d.name) ctx.addIssue({ code: 'custom', path: ['handoffs', i], message: `names the agent itself ("${d.name}"); an agent cannot hand off to itself` });
      if (targets.has(h.agent)) ctx.addIssue({ code: 'custom', path: ['handoffs', i], message: `lists agent "${h.agent}" twice` });
      targets.add(h.agent);
    });
    const skills = new Set<string>();
    d.skills.forEach((s, i) => {
      if (skills.has(s)) ctx.addIssue({ code: 'custom', path: ['skills', i], message: `duplicates skill "${s}"` });
      skills.add(s);
    });
    d.triggers.forEach((t, i) => {
      if (t.type === 'api' && t.timeoutSeconds !== undefined && t.timeoutSeconds > d.limits.timeoutSeconds) {
        ctx.addIssue({ code: 'custom', path: ['triggers', i, 'timeoutSeconds'], message: `must not exceed limits.timeoutSeconds (${d.limits.timeoutSeconds})` });
      }
    });
    const placed = PLACEMENT_LIMITS[d.placement];
    if (d.durable && !placed.durableRunSeconds) {
      ctx.addIssue({ code: 'custom', path: ['durable'], message: `placement "${d.placement}" runs no durable executions (Lambda durable functions and Azure Durable Functions are the function placement's); a ${d.placement} run may last up to ${placed.runSeconds} s without it` });
    } else if (d.limits.timeoutSeconds > maxRunSeconds(d.placement, d.durable)) {
      ctx.addIssue({ code: 'custom', path: ['limits', 'timeoutSeconds'], message: runTooLong(d.placement, d.limits.timeoutSeconds) });
    }
    d.triggers.forEach((t, i) => {
      if (!placed.triggers.includes(t.type)) {
        ctx.addIssue({ code: 'custom', path: ['triggers', i, 'type'], message: `placement "${d.placement}" (${placed.summary}) serves no "${t.type}" trigger; it serves: ${placed.triggers.join(', ')}${t.type === 'api' ? `. Requests: ${placed.requestLimit}` : ''}` });
      }
    });
    d.tools.forEach((t, i) => {
      if (t.approval && !d.durable) ctx.addIssue({ code: 'custom', path: ['tools', i, 'approval'], message: 'needs durable: true: a run that waits for a person outlives any one invocation' });
    });
    const kinds = d.triggers.map((t) => t.type);
    for (const once of ['api', 'job', 'queue'] as const) {
      if (kinds.filter((k) => k === once).length > 1) {
        ctx.addIssue({ code: 'custom', path: ['triggers'], message: `lists the "${once}" trigger more than once` });
      }
    }
  });

/** Why a run limit is too long for its placement, and what to do instead. */
function runTooLong(placement: (typeof PLACEMENTS)[number], seconds: number): string {
  switch (placement) {
    case 'function':
      return `${seconds} s is longer than one invocation allows (${INVOCATION_MAX_SECONDS} s); set durable: true, and the run spans as many invocations as it needs, or use placement: container (up to ${PLACEMENT_LIMITS.container.runSeconds} s)`;
    case 'container':
      return `${seconds} s is longer than a container keeps one message (${PLACEMENT_LIMITS.container.runSeconds} s, SQS's longest visibility timeout); use placement: function with durable: true for longer runs`;
    case 'agentcore':
      return `${seconds} s is longer than an AgentCore Runtime session lasts (${PLACEMENT_LIMITS.agentcore.runSeconds} s)`;
  }
}

/** What an agent team writes: defaults may be left out, instructions may come from a file. */
export type AgentDefinitionInput = z.input<typeof agentDefinitionSchema>;
/** A parsed definition with every default filled in. */
export type AgentSpec = z.output<typeof agentDefinitionSchema>;
export type AgentTool = AgentSpec['tools'][number];
export type AgentTrigger = AgentSpec['triggers'][number];
export type AgentLimits = AgentSpec['limits'];
export type AgentOutput = NonNullable<AgentSpec['output']>;
export type OutputRule = AgentOutput['rules'][number];
export type ModelReference = AgentSpec['model'];
export type AgentHandoff = AgentSpec['handoffs'][number];
export type AgentCallTool = Extract<AgentTool, { kind: 'agent' }>;
