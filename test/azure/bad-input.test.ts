import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAzureApp, cdktfContext } from '../../bin/azure';
import { App, Testing } from '../../constructs/azure/engine';
import { defineAgent, type AgentDefinitionInput } from '../../contract/definition';
import { AzureSingleAgentStack } from '../../stacks/single-agent/azure-single-agent-stack';
import { exampleAgent } from '../../stacks/single-agent/example-agent';
import { agentInput, skillFile, skillsFolder } from '../helpers';
import { AZURE_ROUTER } from '../__fixtures__/azure-synth';

/** The Azure stage-1 stack as a user builds it, with one thing wrong. */
function synthStack(options: { agent?: Partial<AgentDefinitionInput>; skillsPath?: string; models?: unknown } = {}): void {
  const agents = options.agent ? [defineAgent(agentInput(options.agent))] : [exampleAgent()];
  const stack = new AzureSingleAgentStack(Testing.app(), 'bad', { location: 'westeurope', models: (options.models ?? AZURE_ROUTER) as never, agents, ...(options.skillsPath && { skillsPath: options.skillsPath }) });
  Testing.synth(stack);
}

const azureApp = (context: Record<string, unknown>) => () => buildAzureApp(new App({ outdir: '/tmp/unused-cdktf-out', context: { ...cdktfContext(), ...context } }));

const cases: { input: string; run: () => void; culprit: RegExp }[] = [
  { input: 'an agent definition with a bad field', run: () => synthStack({ agent: { limits: { maxSteps: 0 } } }), culprit: /^agent "helper": limits\.maxSteps: / },
  { input: 'a broken skill in the skills folder', run: () => synthStack({ skillsPath: skillsFolder({ 'ticket-triage/SKILL.md': skillFile('triage') }) }), culprit: /skill \S+\/ticket-triage\/SKILL\.md: name: "triage" must match its folder name "ticket-triage"/ },
  {
    input: 'a tool that needs approval in an agent without a job trigger',
    run: () =>
      synthStack({
        agent: { durable: true, triggers: [{ type: 'api' }], tools: [{ name: 'pay', description: 'Pays.', kind: 'http', url: 'https://pay.example.com/pay', sideEffect: 'write', input: { type: 'object' }, approval: { approvers: ['role:finance'] } }] },
      }),
    culprit: /agent "helper": tools\[0\]\.approval: approvals are given on the job's route/,
  },
  { input: 'a skill the folder lacks', run: () => synthStack({ agent: { skills: ['billing'] } }), culprit: /agent "helper": skills\[0\]: "billing" is not in the AzureSkillStore/ },
  { input: 'model routing Azure cannot reach', run: () => synthStack({ models: { aliases: { smart: [{ provider: 'bedrock', model: 'm' }] } } }), culprit: /agent "support": model: "smart" target 1 is bedrock, which Azure cannot call/ },
  { input: 'an Azure location that is not a region name', run: azureApp({ environments: { dev: { azure: { location: 'West Europe' } } } }), culprit: /environments\.dev\.azure\.location: must be an Azure region name/ },
  { input: 'a subscription that is not a GUID', run: azureApp({ environments: { dev: { azure: { location: 'westeurope', subscriptionId: 'prod' } } } }), culprit: /environments\.dev\.azure\.subscriptionId: must be a subscription id/ },
  { input: 'a stage the environments do not name', run: azureApp({ stage: 'qa' }), culprit: /stage "qa" is not an environment with azure settings in environments\.json \(known: dev, prod\)/ },
  {
    input: 'function keys chosen in cdktf.json without a reason',
    run: azureApp({ stage: 'dev', httpAuth: { dev: { type: 'function-keys' } } }),
    culprit: /agent "support": auth: function keys name no caller and are shared secrets; choosing them needs the reason they are enough here/,
  },
  {
    input: 'function keys for an agent whose tools need an approver',
    run: () =>
      Testing.synth(
        new AzureSingleAgentStack(Testing.app(), 'keys', {
          location: 'westeurope',
          models: AZURE_ROUTER as never,
          auth: { type: 'function-keys', reason: 'internal callers only' },
          agents: [defineAgent(agentInput({ durable: true, triggers: [{ type: 'job' }], tools: [{ name: 'pay', description: 'Pays.', kind: 'http', url: 'https://pay.example.com/pay', sideEffect: 'write', input: { type: 'object' }, approval: { approvers: ['role:finance'] } }] }))],
        }),
      ),
    culprit: /agent "helper": auth: "function-keys" names no caller, and tools\[0\] needs an approver's identity: approvals need Entra ID/,
  },
  { input: 'an HTTP auth in cdktf.json for an environment it does not name', run: azureApp({ httpAuth: { qa: { type: 'entra-id' } } }), culprit: /cdktf\.json context: httpAuth\.qa: is not an environment \(known: dev, prod\)/ },
  { input: 'an HTTP auth type cdktf.json does not know', run: azureApp({ httpAuth: { dev: { type: 'basic' } } }), culprit: /cdktf\.json context: httpAuth\.dev\.type: / },
  { input: 'model config with an unknown provider in cdktf.json', run: azureApp({ models: { aliases: { smart: [{ provider: 'vertex', model: 'gemini' }] } } }), culprit: /cdktf\.json context: models\.aliases\.smart\[0\]\.provider: / },
];

describe('bad input on the Azure side fails synth and names the culprit', () => {
  for (const c of cases) it(c.input, () => assert.throws(c.run, (e: Error) => (assert.match(e.message, c.culprit), true)));
});
