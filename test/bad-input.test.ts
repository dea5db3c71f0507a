import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, Duration } from 'aws-cdk-lib';
import { readAppConfig } from '../bin/config';
import { AgentApi, AgentApiAuthorization, AgentFunction, AgentQueue, AgentStateTable, AuditBucket, DeadLetterQueue, ModelRouter, SkillBucket, type AgentFunctionProps, type AgentQueueProps } from '../constructs/aws';
import { loadAgentFile, type AgentDefinitionInput } from '../contract/definition';
import { agentInput, ROUTER, SKILLS, skillFile, skillsFolder, testStack } from './helpers';

/** Builds an agent the way a user would and synthesizes it. */
function synthAgent(
  agent: Partial<AgentDefinitionInput>,
  wiring: { queue?: boolean; api?: boolean; skills?: string; queueProps?: AgentQueueProps } & Pick<AgentFunctionProps, 'memorySize' | 'reservedConcurrentExecutions' | 'toolPolicy'> = {},
): void {
  const app = new App();
  const stack = testStack(app);
  const { queue, api, skills, queueProps, ...props } = wiring;
  new AgentFunction(stack, 'Agent', {
    agent: agentInput(agent),
    router: new ModelRouter(stack, 'Models', ROUTER),
    ...(skills && { skills: new SkillBucket(stack, 'Skills', { path: skills }) }),
    ...(api !== false && { api: new AgentApi(stack, 'Api') }),
    ...(queue && { queue: new AgentQueue(stack, 'Queue', queueProps), state: new AgentStateTable(stack, 'State') }),
    ...props,
  });
  app.synth();
}

const appWithContext = (context: Record<string, unknown>) => new App({ context: { environments: { dev: { aws: { regions: ['eu-west-1'] } } }, models: ROUTER, ...context } });

const cases: { input: string; run: () => void; culprit: RegExp }[] = [
  {
    input: 'a tool that needs approval in an agent without a job trigger',
    run: () =>
      synthAgent({
        durable: true,
        tools: [{ name: 'pay', description: 'Pays.', kind: 'http', url: 'https://pay.example.com/pay', sideEffect: 'write', input: { type: 'object' }, approval: { approvers: ['role:finance'] } }],
      }),
    culprit: /^agent "helper": tools\[0\]\.approval: approvals are given on the job's route/,
  },
  { input: 'agent name with capitals', run: () => synthAgent({ name: 'Support_Bot' }), culprit: /^agent "Support_Bot": name: must be lowercase/ },
  { input: 'agent without a description', run: () => synthAgent({ description: '' }), culprit: /^agent "helper": description:/ },
  {
    input: 'tool input that is not an object schema',
    run: () => synthAgent({ tools: [{ name: 'look', description: 'd', kind: 'function', function: 'fn', input: { type: 'string' } }] }),
    culprit: /agent "helper": tools\[0\]\.input\.type: must be a JSON Schema with "type": "object"/,
  },
  {
    input: 'HTTP tool over plain http',
    run: () => synthAgent({ tools: [{ name: 'look', description: 'd', kind: 'http', url: 'http://orders.example.com', input: { type: 'object' } }] }),
    culprit: /agent "helper": tools\[0\]\.url: must be an https:\/\/ URL/,
  },
  {
    input: 'two tools with one name',
    run: () =>
      synthAgent({
        tools: [
          { name: 'look', description: 'd', kind: 'function', function: 'a', input: { type: 'object' } },
          { name: 'look', description: 'd', kind: 'function', function: 'b', input: { type: 'object' } },
        ],
      }),
    culprit: /agent "helper": tools\[1\]\.name: duplicates tool "look"/,
  },
  { input: 'output tokens above the total', run: () => synthAgent({ limits: { maxOutputTokens: 9000, maxTotalTokens: 8000 } }), culprit: /agent "helper": limits\.maxOutputTokens: must not exceed maxTotalTokens/ },
  {
    input: 'output rule on a field the schema lacks',
    run: () => synthAgent({ output: { schema: { type: 'object', properties: { price: { type: 'number' } } }, rules: [{ field: 'dueBy', check: 'future' }] } }),
    culprit: /agent "helper": output\.rules\[0\]\.field: "dueBy" is not a property of the output schema/,
  },
  {
    input: 'schedule that is not rate() or cron()',
    run: () => synthAgent({ triggers: [{ type: 'schedule', expression: 'every monday', input: 'go' }] }, { queue: true }),
    culprit: /agent "helper": triggers\[0\]\.expression: must be rate\(\.\.\.\) or cron\(\.\.\.\)/,
  },
  { input: 'instructions file that does not exist', run: () => synthAgent({ instructions: { file: '/no/such/prompt.md' } }), culprit: /agent "helper": instructions\.file: cannot read \/no\/such\/prompt\.md \(ENOENT\)/ },
  { input: 'model alias the router lacks', run: () => synthAgent({ model: 'smartest' }), culprit: /agent "helper": model: alias "smartest" is not defined for cohort "default" \(known aliases: fast, smart\)/ },
  {
    input: 'direct Anthropic model with no credentials in the router',
    run: () => synthAgent({ model: { provider: 'anthropic', model: 'claude-sonnet-4-5' } }),
    culprit: /agent "helper": model: provider "anthropic" needs providers\.anthropic\.apiKeySecret/,
  },
  { input: 'skill missing from the bucket', run: () => synthAgent({ skills: ['nope'] }, { skills: SKILLS }), culprit: /agent "helper": skills\[0\]: "nope" is not in the SkillBucket \(it has: refund-requests, ticket-triage, troubleshooting\)/ },
  {
    input: 'job trigger on an API without a state table',
    run: () => synthAgent({ triggers: [{ type: 'api' }, { type: 'job' }] }),
    culprit: /agent "helper": triggers\[1\]: a "job" trigger needs an AgentStateTable \(pass state, or give the AgentApi one\)/,
  },
  {
    input: 'queued trigger with no state table',
    run: () => {
      const stack = testStack();
      new AgentFunction(stack, 'A', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }), queue: new AgentQueue(stack, 'Queue') });
    },
    culprit: /agent "helper": triggers\[0\]: a "queue" trigger needs an AgentStateTable \(pass state, or give the AgentApi one\) so a redelivered run never runs twice/,
  },
  {
    input: 'tool policy with an unknown field',
    run: () => {
      const stack = testStack();
      new AgentFunction(stack, 'A', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' } }), api: new AgentApi(stack, 'Api'), toolPolicy: { allowScopes: ['x'] } as never });
    },
    culprit: /agent "helper": toolPolicy\.\(definition\): Unrecognized key: "allowScopes"/,
  },
  { input: 'api trigger with no API', run: () => synthAgent({}, { api: false }), culprit: /agent "helper": triggers\[0\]: an "api" trigger needs an AgentApi/ },
  {
    input: 'instructions too large for the function environment',
    run: () => synthAgent({ instructions: randomBytes(6000).toString('base64') }),
    culprit: /agent "helper": \(definition\): compressed, it takes about \d+ bytes of Lambda's 4096-byte environment; move reference material/,
  },
  { input: 'skill folder without SKILL.md', run: () => synthAgent({}, { skills: skillsFolder({ 'lonely/notes.md': 'x' }) }), culprit: /skill \S+\/lonely\/SKILL\.md: is missing/ },
  { input: 'SKILL.md without front matter', run: () => synthAgent({}, { skills: skillsFolder({ 'a/SKILL.md': '# a\n' }) }), culprit: /skill \S+\/a\/SKILL\.md: must start with YAML front matter/ },
  {
    input: 'SKILL.md whose front matter is not YAML',
    run: () => synthAgent({}, { skills: skillsFolder({ 'a/SKILL.md': '---\nname: [a\n---\n' }) }),
    culprit: /skill \S+\/a\/SKILL\.md: front matter is not valid YAML/,
  },
  { input: 'SKILL.md without a description', run: () => synthAgent({}, { skills: skillsFolder({ 'a/SKILL.md': '---\nname: a\n---\n' }) }), culprit: /skill \S+\/a\/SKILL\.md: description:/ },
  { input: 'SKILL.md named unlike its folder', run: () => synthAgent({}, { skills: skillsFolder({ 'a/SKILL.md': skillFile('b') }) }), culprit: /skill \S+\/a\/SKILL\.md: name: "b" must match its folder name "a"/ },
  {
    input: 'SKILL.md with a field the format lacks',
    run: () => synthAgent({}, { skills: skillsFolder({ 'a/SKILL.md': '---\nname: a\ndescription: d\nauthor: me\n---\n' }) }),
    culprit: /skill \S+\/a\/SKILL\.md: front matter: Unrecognized key: "author"/,
  },
  {
    input: 'SKILL.md name with consecutive hyphens',
    run: () => synthAgent({}, { skills: skillsFolder({ 'a--b/SKILL.md': skillFile('a--b') }) }),
    culprit: /skill \S+\/a--b\/SKILL\.md: name: must be lowercase letters, digits and single hyphens/,
  },
  {
    input: 'router target region that is not a region',
    run: () => new ModelRouter(testStack(), 'Models', { aliases: { smart: [{ provider: 'bedrock-inference-profile', profile: 'eu.m', regions: ['europe'] }] } }),
    culprit: /ModelRouter Test\/Models: aliases\.smart\[0\]\.regions\[0\]: must be a region/,
  },
  { input: 'router alias with no targets', run: () => new ModelRouter(testStack(), 'Models', { aliases: { smart: [] } }), culprit: /ModelRouter Test\/Models: aliases\.smart: needs at least one target/ },
  {
    input: 'queue visibility shorter than six agent timeouts',
    run: () => {
      const app = new App();
      const stack = testStack(app);
      new AgentFunction(stack, 'Agent', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }), queue: new AgentQueue(stack, 'Queue', { visibilityTimeout: Duration.seconds(60) }), state: new AgentStateTable(stack, 'State') });
      app.synth();
    },
    culprit: /AgentQueue Test\/Queue \(agent "helper"\): visibilityTimeout 60s is under six times the agent timeout \(720s\)/,
  },
  {
    input: 'one queue given to two agents',
    run: () => {
      const stack = testStack();
      const queue = new AgentQueue(stack, 'Queue');
      const state = new AgentStateTable(stack, 'State');
      const agent = (name: string) => agentInput({ name, model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] });
      new AgentFunction(stack, 'A', { agent: agent('a'), queue, state });
      new AgentFunction(stack, 'B', { agent: agent('b'), queue, state });
    },
    culprit: /AgentQueue Test\/Queue already feeds Test\/A\/Function \(agent "a"\); each agent needs its own queue/,
  },
  {
    input: 'two agents with one name on an API',
    run: () => {
      const stack = testStack();
      const api = new AgentApi(stack, 'Api');
      const agent = agentInput({ model: { provider: 'bedrock', model: 'm' } });
      new AgentFunction(stack, 'A', { agent, api });
      new AgentFunction(stack, 'B', { agent, api });
    },
    culprit: /AgentApi Test\/Api already serves an agent named "helper"/,
  },
  {
    input: 'an API serving no agent',
    run: () => {
      const app = new App();
      new AgentApi(testStack(app), 'Api');
      app.synth();
    },
    culprit: /AgentApi Test\/Api serves no agent/,
  },
  { input: 'anonymous API without a reason', run: () => AgentApiAuthorization.anonymous(''), culprit: /anonymous needs a real reason/ },
  { input: 'environment with a bad region', run: () => readAppConfig(appWithContext({ environments: { dev: { aws: { regions: ['Ireland'] } } } })), culprit: /environments\.dev\.aws\.regions\[0\]: must be a region/ },
  { input: 'environment with a region twice', run: () => readAppConfig(appWithContext({ environments: { prod: { aws: { regions: ['eu-west-1', 'eu-west-1'] } } } })), culprit: /environments\.prod\.aws\.regions: names a region twice/ },
  { input: 'environment that deploys nothing', run: () => readAppConfig(appWithContext({ environments: { dev: { approval: true } } })), culprit: /environments\.dev: deploys nothing: give it aws, azure or both/ },
  { input: 'environment with an old-style region', run: () => readAppConfig(appWithContext({ environments: { dev: { region: 'eu-west-1' } } })), culprit: /environments\.dev: Unrecognized key: "region"/ },
  { input: 'environment whose rollout is not a predefined one', run: () => readAppConfig(appWithContext({ environments: { prod: { aws: { regions: ['eu-west-1'] }, rollout: { strategy: 'linear', minutes: 4 } } } })), culprit: /environments\.prod\.rollout\.minutes: must be one of 1, 2, 3, 10/ },
  { input: 'environment name with capitals', run: () => readAppConfig(appWithContext({ environments: { Prod: { aws: { regions: ['eu-west-1'] } } } })), culprit: /environments\.Prod: must be a lowercase environment name/ },
  { input: 'stage that the environments do not name', run: () => readAppConfig(appWithContext({ stage: 'qa' })), culprit: /stage "qa" is not an environment with aws settings in environments\.json \(known: dev\)/ },
  {
    input: 'an API listing an agent from another app by a name no agent can have',
    run: () => new AgentApi(testStack(), 'Api', { agents: [{ name: 'Support"}' }] }),
    culprit: /AgentApi Test\/Api: agents: "Support"\}" must be lowercase letters, digits and hyphens/,
  },
  {
    input: 'an API agent name prefix too long for a Lambda name',
    run: () => new AgentApi(testStack(), 'Api', { agentNamePrefix: 'a-very-long-platform-prefix-' }),
    culprit: /AgentApi Test\/Api: agentNamePrefix "a-very-long-platform-prefix-" must be 1-23 letters, digits, hyphens or underscores/,
  },
  {
    input: 'an imported API with a prefix that is not a name',
    run: () => AgentApi.fromAgentApiAttributes(testStack(), 'Api', { restApiId: 'abc', agentNamePrefix: 'team/' }),
    culprit: /AgentApi.fromAgentApiAttributes Api: agentNamePrefix "team\/" must be/,
  },
  {
    input: 'an API taking jobs for another app\'s agent without a state table',
    run: () => new AgentApi(testStack(), 'Api', { agents: [{ name: 'support', jobs: true }] }),
    culprit: /agent "support" takes jobs, which needs the API's state table \(pass state\)/,
  },
  {
    input: 'an imported skill bucket with neither its folder nor its index',
    run: () => SkillBucket.fromSkillBucketAttributes(testStack(), 'Skills', { bucketName: 'skills' }),
    culprit: /SkillBucket.fromSkillBucketAttributes Skills: give the skills folder \(path\) or the bucket's index, one of them/,
  },
  {
    input: 'a shared dead-letter queue beside a queue of its own',
    run: () => {
      const stack = testStack();
      new AgentFunction(stack, 'A', {
        agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }),
        queue: new AgentQueue(stack, 'Queue'),
        deadLetterQueue: DeadLetterQueue.fromDeadLetterQueueAttributes(stack, 'Dlq', { queueArn: 'arn:aws:sqs:eu-west-1:123456789012:dlq' }),
        state: new AgentStateTable(stack, 'State'),
      });
    },
    culprit: /agent "helper": \(props\): deadLetterQueue is for the queue this construct creates; the queue given already has its own/,
  },
  {
    input: 'variables under the names the runtime reads',
    run: () => {
      const stack = testStack();
      new AgentFunction(stack, 'A', { agent: agentInput({ model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }), state: new AgentStateTable(stack, 'State'), environment: { SKILLS_BUCKET: 'mine' } });
    },
    culprit: /agent "helper": environment: SKILLS_BUCKET is set by AgentFunction for the runtime/,
  },
  {
    input: 'two agents of one name on one state table',
    run: () => {
      const stack = testStack();
      const state = new AgentStateTable(stack, 'State');
      for (const id of ['Support', 'SupportAgain']) new AgentFunction(stack, id, { agent: agentInput({ name: 'support', model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }), state });
    },
    culprit: /Test\/State: agent "support" is defined twice on it, at Test\/Support and at Test\/SupportAgain; agents that share it need distinct names/,
  },
  {
    input: 'two agents of one name on one audit bucket',
    run: () => {
      const stack = testStack();
      const audit = new AuditBucket(stack, 'Audit');
      for (const id of ['Support', 'SupportAgain']) {
        new AgentFunction(stack, id, { agent: agentInput({ name: 'support', model: { provider: 'bedrock', model: 'm' }, triggers: [{ type: 'queue' }] }), audit, state: new AgentStateTable(stack, `${id}State`) });
      }
    },
    culprit: /Test\/Audit: agent "support" is defined twice on it, at Test\/Support and at Test\/SupportAgain/,
  },
  // Inputs that once passed synth and failed only at deploy or at run time.
  ...(
    [
      ['cron() with both day fields set', 'cron(0 12 * * * *)', /triggers\[0\]\.expression: one of day-of-month and day-of-week must be \?/],
      ['cron() with five fields', 'cron(0 12 * * ?)', /triggers\[0\]\.expression: cron\(\.\.\.\) takes six fields/],
      ['cron() minute out of range', 'cron(60 12 ? * MON *)', /triggers\[0\]\.expression: minutes "60": "60" is not a minutes value \(0-59\)/],
      ['cron() hour range that runs backwards', 'cron(0 22-2 ? * * *)', /hours "22-2": the range "22-2" runs backwards; write one that wraps as two/],
      ['cron() with ? in the hours', 'cron(0 ? ? * * *)', /hours "\?": \? is allowed only in day-of-month and day-of-week/],
      ['cron() with a zero step', 'cron(0/0 * ? * * *)', /minutes "0\/0": the step in "0\/0" must be a whole number from 1 to 59/],
      ['cron() with an unknown month', 'cron(0 9 1 SMR ? *)', /month "SMR": "SMR" is not a month value \(1-12 or JAN-DEC\)/],
      ['cron() year out of range', 'cron(0 9 1 * ? 1969)', /year "1969": "1969" is not a year value/],
      ['rate() of one with a plural unit', 'rate(1 hours)', /triggers\[0\]\.expression: write rate\(1 hour\): a value of 1 takes the singular unit/],
      ['rate() above one with a singular unit', 'rate(5 minute)', /write rate\(5 minutes\): a value above 1 takes the plural unit/],
      ['rate() of zero', 'rate(0 minutes)', /a rate must be at least 1/],
      ['rate() in weeks', 'rate(1 week)', /a rate is rate\(VALUE UNIT\)/],
    ] as const
  ).map(([input, expression, culprit]) => ({ input: `schedule ${input}`, run: () => synthAgent({ triggers: [{ type: 'schedule', expression, input: 'go' }] }, { queue: true }), culprit })),
  {
    input: 'function tool whose ARN is not a Lambda ARN',
    run: () => synthAgent({ tools: [{ name: 'refund', description: 'd', kind: 'function', function: 'arn:aws:states:eu-west-1:123456789012:stateMachine:refunds', input: { type: 'object' } }] }),
    culprit: /agent "helper": tools\[0\]\.function: must be a Lambda function name, ACCOUNT:function:NAME, or a Lambda function ARN/,
  },
  { input: 'memory below what Lambda allows', run: () => synthAgent({}, { memorySize: 64 }), culprit: /agent "helper": memorySize: must be a whole number of MB from 128 to 10240, as Lambda allows; got 64/ },
  { input: 'memory above what Lambda allows', run: () => synthAgent({}, { memorySize: 20_000 }), culprit: /memorySize: must be a whole number of MB from 128 to 10240/ },
  { input: 'negative reserved concurrency', run: () => synthAgent({}, { reservedConcurrentExecutions: -1 }), culprit: /agent "helper": reservedConcurrentExecutions: must be a whole number, 0 \(which stops the agent\) or more; got -1/ },
  { input: 'negative API throttle', run: () => new AgentApi(testStack(), 'Api', { rateLimit: -5 }), culprit: /AgentApi Test\/Api: rateLimit must be 0 or more requests per second; got -5/ },
  { input: 'negative API burst', run: () => new AgentApi(testStack(), 'Api', { burstLimit: -1 }), culprit: /AgentApi Test\/Api: burstLimit must be 0 or more requests; got -1/ },
  {
    input: 'tool input schema that breaks the JSON Schema meta-schema',
    run: () => synthAgent({ tools: [{ name: 'look', description: 'd', kind: 'http', url: 'https://orders.example.com', input: { type: 'object', required: 'orderId', properties: { orderId: { type: 'text' } } } }] }),
    culprit: /tools\[0\]\.input\.properties\.orderId\.type: is not valid JSON Schema: must be equal to one of the allowed values[\s\S]*tools\[0\]\.input\.required: is not valid JSON Schema: must be array/,
  },
  {
    input: 'tool input schema with a pattern that is not a regular expression',
    run: () => synthAgent({ tools: [{ name: 'look', description: 'd', kind: 'http', url: 'https://orders.example.com', input: { type: 'object', properties: { id: { type: 'string', pattern: '(' } } } }] }),
    culprit: /agent "helper": tools\[0\]\.input: cannot be used to validate: Invalid regular expression/,
  },
  {
    input: 'output schema with a bound that is not a number',
    run: () => synthAgent({ output: { schema: { type: 'object', properties: { price: { type: 'number', minimum: 'zero' } } } } }),
    culprit: /agent "helper": output\.schema\.properties\.price\.minimum: is not valid JSON Schema: must be number/,
  },
  {
    input: 'inference profile routed to a region that does not exist',
    run: () => new ModelRouter(testStack(), 'Models', { aliases: { smart: [{ provider: 'bedrock-inference-profile', profile: 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0', regions: ['eu-west-1', 'eu-westt-1'] }] } }),
    culprit: /ModelRouter Test\/Models: aliases\.smart\[0\]\.regions\[1\]: "eu-westt-1" is not an AWS region/,
  },
  {
    input: 'tool policy denying a tool the agent lacks',
    run: () => synthAgent({ tools: [{ name: 'lookup_order', description: 'd', kind: 'http', url: 'https://orders.example.com', input: { type: 'object' } }] }, { toolPolicy: { deniedTools: ['refund_order'] } }),
    culprit: /agent "helper": toolPolicy\.deniedTools\[0\]: "refund_order" is not a tool of this agent \(its tools: lookup_order\)/,
  },
  { input: 'agent with no trigger', run: () => synthAgent({ triggers: [] }), culprit: /agent "helper": triggers: an agent needs at least one trigger/ },
  {
    input: 'api trigger longer than the API waits',
    run: () => synthAgent({ triggers: [{ type: 'api', timeoutSeconds: 60 }], limits: { timeoutSeconds: 300 } }),
    culprit: /agent "helper": triggers\[0\]\.timeoutSeconds: a synchronous run may take 60 s, longer than the API's integration timeout \(29 s\)/,
  },
  { input: 'api trigger longer than the agent may run', run: () => synthAgent({ triggers: [{ type: 'api', timeoutSeconds: 60 }], limits: { timeoutSeconds: 30 } }), culprit: /triggers\[0\]\.timeoutSeconds: must not exceed limits\.timeoutSeconds \(30\)/ },
  {
    input: 'definition file without a name',
    run: () => {
      const dir = mkdtempSync(join(tmpdir(), 'agent-'));
      writeFileSync(join(dir, 'nameless.agent.yaml'), 'description: Answers.\nmodel: smart\ninstructions: You help.\n');
      loadAgentFile(join(dir, 'nameless.agent.yaml'));
    },
    culprit: /^agent "\(unnamed, in \S+nameless\.agent\.yaml\)": name: is required$/,
  },
  {
    input: 'model from a provider a definition cannot name',
    run: () => synthAgent({ model: { provider: 'gemini', model: 'gemini-2.5-pro' } as never }),
    culprit: /agent "helper": model: provider "gemini" is not one a definition can name \(one of: bedrock, anthropic, openai-compatible\)/,
  },
  {
    input: 'router target from an unknown provider',
    run: () => new ModelRouter(testStack(), 'Models', { aliases: { smart: [{ provider: 'gemini', model: 'x' } as never] } }),
    culprit: /ModelRouter Test\/Models: aliases\.smart\[0\]\.provider: .*'bedrock' \| 'bedrock-inference-profile' \| 'anthropic' \| 'openai-compatible' \| 'azure-openai'/,
  },
  {
    input: 'queue concurrency below what Lambda allows',
    run: () => synthAgent({ triggers: [{ type: 'queue' }] }, { queue: true, queueProps: { maxConcurrency: 1 } }),
    culprit: /AgentQueue Test\/Queue \(agent "helper"\): maxConcurrency must be 2-1000, got 1/,
  },
];

describe('bad input fails synth and names the culprit', () => {
  for (const c of cases) {
    it(c.input, () => assert.throws(c.run, (e: Error) => (assert.match(e.message, c.culprit), true)));
  }
  it('covers at least ten kinds of bad input', () => assert.ok(cases.length >= 10));
});
