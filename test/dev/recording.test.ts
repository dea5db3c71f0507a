import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDevApp, type DevApp } from '../../functions/dev/app';
import type { Transcript } from '../../functions/local/transcript';
import { startBedrockFake, type ModelFake } from '../__fixtures__/model-fakes';
import { REPO } from '../helpers';

/**
 * A live run on the dev server (Bedrock through the real SDK, at a loopback fake) saved as a
 * transcript, which `npm run agent` then replays with no credentials.
 */
let app: DevApp;
let bedrock: ModelFake;
let folder: string;
let transcripts: string;
const saved = { ...process.env };

before(async () => {
  bedrock = await startBedrockFake([{ text: 'Live answer: refund ord_12345678.' }]);
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url });
  folder = mkdtempSync(join(tmpdir(), 'dev-live-'));
  transcripts = mkdtempSync(join(tmpdir(), 'dev-transcripts-'));
  writeFileSync(join(folder, 'clerk.agent.yaml'), ['name: clerk', 'description: Answers refund questions.', 'model: smart', 'instructions: Answer briefly.'].join('\n'));
  app = await startDevApp({ root: REPO, folders: [folder], watch: false, transcriptsDir: transcripts, log: () => {} });
});

after(async () => {
  await app?.close();
  await bedrock?.close();
  process.env = saved;
});

const post = async (path: string, body?: unknown) => {
  const response = await fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

describe('recording a run on the dev server', () => {
  it('saves a live run as a transcript that npm run agent replays offline', async () => {
    assert.equal(app.modes.get('clerk'), 'live');
    const run = await post('/agents/clerk/invocations', { input: 'Was ord_12345678 refunded?' });
    assert.deepEqual([run.status, run.body.output], [200, 'Live answer: refund ord_12345678.']);
    const savedRun = await post(`/dev/runs/${run.body.runId}/transcript`);
    assert.equal(savedRun.status, 201);
    const transcript = JSON.parse(readFileSync(savedRun.body.path, 'utf8')) as Transcript;
    assert.deepEqual([transcript.agent, transcript.turns.length, transcript.turns[0]!.content], ['clerk', 1, [{ type: 'text', text: 'Live answer: refund ord_12345678.' }]]);

    const offline = { ...saved };
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY']) delete offline[key];
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(REPO, 'bin/agent.ts'), '--agent', join(folder, 'clerk.agent.yaml'), '--transcript', savedRun.body.path, 'Was it refunded?'], { cwd: REPO, env: offline, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(stdout, /Live answer: refund ord_12345678\./);
  });

  it('says there is nothing to save for a run it did not record', async () => {
    const answer = await post('/dev/runs/no-such-run/transcript');
    assert.equal(answer.status, 404);
    assert.match(answer.body.message, /ran no live model here/);
  });
});
