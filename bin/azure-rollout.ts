#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { azureRolloutTargets } from '../contract/delivery/azure-rollout';
import { AzureRolloutFailed, rollOutAll } from '../functions/delivery/azure-rollout';

/**
 * `npm run azure-rollout -- --outputs cdktf-outputs.json [--subscription ID] [--concurrency N]`:
 * after `cdktf deploy --outputs-file cdktf-outputs.json` staged new versions, swaps each agent's
 * staging slot into production and watches it (see functions/delivery/azure-rollout.ts), with the
 * credentials DefaultAzureCredential finds (the workflow's federated login). Exits 1, saying which
 * agents were swapped back and which were not started, unless every agent rolled out.
 */
const { values } = parseArgs({
  options: {
    outputs: { type: 'string', default: 'cdktf-outputs.json' },
    subscription: { type: 'string', default: process.env.ARM_SUBSCRIPTION_ID },
    concurrency: { type: 'string' },
    'poll-seconds': { type: 'string' },
  },
});

async function main(): Promise<void> {
  if (!values.subscription) throw new AzureRolloutFailed('usage: azure-rollout --outputs FILE --subscription ID (or ARM_SUBSCRIPTION_ID)', false);
  const targets = azureRolloutTargets(JSON.parse(readFileSync(values.outputs!, 'utf8')));
  if (!targets.length) {
    console.log(`no staged agent in ${values.outputs}: nothing to roll out`);
    return;
  }
  const { DefaultAzureCredential } = await import('@azure/identity');
  const credential = new DefaultAzureCredential();
  // Both scopes' tokens now, while the workflow's login is fresh: the Azure CLI keeps them for the hour they last.
  const arm = 'https://management.azure.com/.default';
  const insights = 'https://api.applicationinsights.io/.default';
  await Promise.all([credential.getToken(arm), credential.getToken(insights)]);
  const outcomes = await rollOutAll(targets, {
    subscriptionId: values.subscription,
    token: async (scope) => (await credential.getToken(scope)).token,
    ...(values.concurrency && { concurrency: Number(values.concurrency) }),
    ...(values['poll-seconds'] && { pollSeconds: Number(values['poll-seconds']) }),
    log: (line) => console.log(line),
  });
  const swapped = outcomes.filter((o) => o.swapped);
  console.log(`rolled out ${swapped.length} agent(s)${swapped.length ? `: ${swapped.map((o) => o.agent).join(', ')}` : ''}; ${outcomes.length - swapped.length} unchanged`);
}

main().catch((e: Error) => {
  console.error(e instanceof AzureRolloutFailed ? e.message : `the rollout could not run: ${e.message}`);
  process.exitCode = 1;
});
