#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { AzureHttpAuth } from '../constructs/azure/agent-function';
import { App } from '../constructs/azure/engine';
import { formatIssues } from '../contract/definition';
import { AzureHybridStack } from '../stacks/hybrid/azure-hybrid-stack';
import { AzureMultiAgentStack } from '../stacks/multi-agent/azure-multi-agent-stack';
import { AzureSingleAgentStack } from '../stacks/single-agent/azure-single-agent-stack';
import { AppConfigError, readAzureAppConfig } from './config';

/**
 * The example app on Azure: the stage-1 stack, the stage-2 team and the stage-3 hybrid once per environment of
 * environments.json with Azure settings, with the same agent definitions the AWS app deploys. `npx cdktf synth` runs it; `-c stage=dev` on a direct
 * run (or `stage` in CDKTF_CONTEXT_JSON) builds one environment.
 */
const root = join(__dirname, '..');

/** cdktf.json's context: the CLI passes it in, a direct run reads it here. */
export function cdktfContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(root, 'cdktf.json'), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

/** The CLI names the output folder in CDKTF_OUTDIR; a direct run writes to cdktf.out. */
const outdir = () => process.env.CDKTF_OUTDIR ?? join(root, 'cdktf.out');

/**
 * Who may call each environment's agents, by environment name (`httpAuth` in cdktf.json's
 * context); an environment not named gets the constructs' default, Entra ID. The reason a keys or
 * anonymous choice needs is checked by AzureAgentFunction, which names the agent.
 */
const httpAuthSchema = z.record(
  z.string(),
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('entra-id'), clientId: z.string().optional(), tenantId: z.string().optional(), allowedAudiences: z.array(z.string()).optional() }),
    z.strictObject({ type: z.literal('function-keys'), reason: z.string().default('') }),
    z.strictObject({ type: z.literal('anonymous'), reason: z.string().default('') }),
  ]),
);

function readHttpAuth(app: App, environments: readonly string[]): Record<string, AzureHttpAuth> {
  const parsed = httpAuthSchema.safeParse(app.node.tryGetContext('httpAuth') ?? {});
  if (!parsed.success) throw new AppConfigError(`cdktf.json context: ${formatIssues(parsed.error.issues.map((issue) => ({ ...issue, path: ['httpAuth', ...issue.path] }))).join('; ')}`);
  const unknown = Object.keys(parsed.data).filter((e) => !environments.includes(e));
  if (unknown.length) throw new AppConfigError(`cdktf.json context: httpAuth.${unknown[0]}: is not an environment (known: ${environments.join(', ')})`);
  return parsed.data as Record<string, AzureHttpAuth>;
}

export function buildAzureApp(app = new App({ outdir: outdir(), context: cdktfContext() })): App {
  const { config, stages } = readAzureAppConfig(app);
  const auth = readHttpAuth(app, Object.keys(config.environments));
  for (const stage of stages) {
    const env = config.environments[stage]!.azure!;
    const rollout = config.environments[stage]!.rollout;
    // The environment's budgets cover its subscription: they live in its stage-1 stack, and the
    // others then budget nothing of their own.
    const budgets = config.environments[stage]!.budgets;
    new AzureSingleAgentStack(app, `support-agent-${stage}`, {
      ...(budgets && { budgets, budgetScope: 'subscription' as const }),
      location: env.location,
      ...(env.subscriptionId && { subscriptionId: env.subscriptionId }),
      models: config.models,
      toolPolicies: config.toolPolicies,
      ...(auth[stage] && { auth: auth[stage] }),
      ...(rollout && { rollout }),
      tags: { 'serverless-agents-environment': stage },
    });
    // The teams (stage 2 and 3) are behind Entra ID in every environment, whatever httpAuth says:
    // their agents call each other with Entra ID tokens. An environment's Entra ID tenant, if named, applies.
    const entra = auth[stage]?.type === 'entra-id' ? auth[stage] : undefined;
    const team = {
      location: env.location,
      ...(env.subscriptionId && { subscriptionId: env.subscriptionId }),
      models: config.models,
      toolPolicies: config.toolPolicies,
      ...(entra?.tenantId && { tenantId: entra.tenantId }),
      ...(rollout && { rollout }),
      ...(budgets && { budgets: {} }),
      tags: { 'serverless-agents-environment': stage },
    };
    new AzureMultiAgentStack(app, `multi-agent-${stage}`, team);
    new AzureHybridStack(app, `hybrid-agents-${stage}`, team);
  }
  return app;
}

if (require.main === module) buildAzureApp().synth();
