#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { smokeTest, SmokeTestFailed } from '../functions/delivery/smoke';

/**
 * `npm run smoke -- --api-url URL --agent NAME --input TEXT [--expect REGEX] [--region R] [--unsigned]`:
 * the check a pipeline runs after it deploys a stage (see functions/delivery/smoke.ts). The URL
 * comes from the stage's stack output (AgentApi's `ApiUrl`), or from SMOKE_API_URL; requests are
 * signed with the credentials the AWS SDK finds (the pipeline step's role) for the region the URL
 * names, unless `--unsigned` (an API behind Cognito or keys is checked by other means). Exits 1,
 * saying why, when the agent does not answer correctly.
 */
const { values } = parseArgs({
  options: {
    'api-url': { type: 'string', default: process.env.SMOKE_API_URL },
    agent: { type: 'string' },
    input: { type: 'string' },
    expect: { type: 'string' },
    region: { type: 'string' },
    unsigned: { type: 'boolean', default: false },
    attempts: { type: 'string' },
  },
});

async function main(): Promise<void> {
  const apiUrl = values['api-url'];
  if (!apiUrl || !values.agent || values.input === undefined) throw new SmokeTestFailed('usage: smoke --api-url URL (or SMOKE_API_URL) --agent NAME --input TEXT [--expect REGEX] [--region REGION] [--unsigned]');
  // execute-api URLs name their region; another host (a custom domain) needs --region.
  const region = values.region ?? /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(apiUrl)?.[1] ?? process.env.AWS_REGION;
  if (!values.unsigned && !region) throw new SmokeTestFailed(`the API's region is not in its URL (${apiUrl}): pass --region`);
  const sign = values.unsigned ? undefined : { region: region!, credentials: (await import('@aws-sdk/credential-provider-node')).defaultProvider() };
  const result = await smokeTest({
    apiUrl,
    agent: values.agent,
    input: values.input,
    ...(values.expect && { expect: new RegExp(values.expect) }),
    ...(sign && { sign }),
    ...(values.attempts && { attempts: Number(values.attempts) }),
  });
  console.log(`agent ${values.agent} answered correctly (run ${result.runId}, attempt ${result.attempts}): ${result.answer.slice(0, 200)}`);
}

main().catch((e: Error) => {
  console.error(e instanceof SmokeTestFailed ? e.message : `the check could not run: ${e.message}`);
  process.exitCode = 1;
});
