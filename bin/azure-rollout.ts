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
  const outcomes = await rollOutAll(targets, {
    subscriptionId: values.subscription,
    token: async (scope) => (await credential.getToken(scope)).token,
    ...(values.concurrency && { concurrency: Number(values.concurrency) }),
    ...(values['poll-seconds'] && { pollSeconds: Number(values['poll-seconds']) }),
    log: (line) => console.log(line),
  });
  console.log(`rolled out ${outcomes.length} agent(s): ${outcomes.map((o) => o.agent).join(', ')}`);
}

main().catch((e: Error) => {
  console.error(e instanceof AzureRolloutFailed ? e.message : `the rollout could not run: ${e.message}`);
  process.exitCode = 1;
});
