#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from '../constructs/azure/engine';
import { AzureSingleAgentStack } from '../stacks/single-agent/azure-single-agent-stack';
import { readAzureAppConfig } from './config';

/**
 * The example app on Azure: the stage-1 stack once per environment in cdktf.json, with the same
 * agent definitions the AWS app deploys. `npx cdktf synth` runs it; `-c stage=dev` on a direct
 * run (or `stage` in CDKTF_CONTEXT_JSON) builds one environment.
 */
const root = join(__dirname, '..');

/** cdktf.json's context: the CLI passes it in, a direct run reads it here. */
export function cdktfContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(root, 'cdktf.json'), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

/** The CLI names the output folder in CDKTF_OUTDIR; a direct run writes to cdktf.out. */
const outdir = () => process.env.CDKTF_OUTDIR ?? join(root, 'cdktf.out');

export function buildAzureApp(app = new App({ outdir: outdir(), context: cdktfContext() })): App {
  const { config, stages } = readAzureAppConfig(app);
  for (const stage of stages) {
    const env = config.environments[stage]!;
    new AzureSingleAgentStack(app, `support-agent-${stage}`, {
      location: env.location,
      ...(env.subscriptionId && { subscriptionId: env.subscriptionId }),
      models: config.models,
      toolPolicies: config.toolPolicies,
      tags: { 'serverless-agents-environment': stage },
    });
  }
  return app;
}

if (require.main === module) buildAzureApp().synth();
