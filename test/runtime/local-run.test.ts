import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { REPO } from '../helpers';
import { startBedrockFake, type ModelFake } from '../__fixtures__/model-fakes';

const run = promisify(execFile);
const cli = (args: string[], env: NodeJS.ProcessEnv) =>
  run(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'bin/agent.ts'), ...args], { cwd: REPO, env: { PATH: process.env.PATH, ...env } });

let bedrock: ModelFake | undefined;
after(async () => bedrock?.close());

describe('npm run agent', () => {
  it('runs the example agent offline from its recorded transcript, with the local skills', async () => {
    const { stdout, stderr } = await cli(['I was charged twice for order ord_12345678'], {});
    assert.equal(JSON.parse(stdout).category, 'billing');
    assert.match(stderr, /offline: replaying .*support\.transcript\.json/);
    assert.match(stderr, /stop: end_turn after 3 step\(s\)/);
    assert.match(stderr, /output: valid/);
    assert.match(stderr, /skills loaded 2/);
  });

  it('runs live when the environment has credentials, records a transcript, and replays it offline', async () => {
    const answer = { category: 'how-to', severity: 'sev4', summary: 'Asks how to export invoices.', nextAction: 'answer', dueBy: '2099-02-01T00:00:00Z', confidence: 0.93 };
    bedrock = await startBedrockFake([{ text: JSON.stringify(answer), usage: { inputTokens: 900, outputTokens: 70 } }]);
    const transcript = join(mkdtempSync(join(tmpdir(), 'transcript-')), 'run.json');
    const live = await cli(['--record', transcript, 'How do I export my invoices?'], {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
    });
    assert.deepEqual(JSON.parse(live.stdout), answer);
    assert.match(live.stderr, /live on bedrock\/anthropic\.claude-sonnet-4-5/);
    const sent = bedrock.requests[0]!.body as { messages: { content: { text: string }[] }[] };
    assert.equal(sent.messages[0]!.content[0]!.text, 'How do I export my invoices?');
    assert.equal(JSON.parse(readFileSync(transcript, 'utf8')).turns.length, 1);

    const replayed = await cli(['--transcript', transcript, 'How do I export my invoices?'], {});
    assert.deepEqual(JSON.parse(replayed.stdout), answer);
    assert.equal(bedrock.requests.length, 1, 'the replay made no model call');
  });

  it('runs the stage-2 team in one process from each agent\'s transcript: a call, a hand-off, one chain', async () => {
    const { stdout, stderr } = await cli(['--team', 'stacks/multi-agent', 'I was charged twice for ord_12345678 and the app crashes when I sign in'], {});
    const [answer, ...children] = stdout.split(/^--- /m);
    assert.match(answer!, /refunded it\. Our technical support team now has your sign-in problem/);
    assert.match(children[0]!, /^billing \(call, hop 1\) ---\n\{\n  "finding": "Order ord_12345678 was charged 49 EUR twice/);
    assert.match(children[1]!, /^technical \(handoff, hop 1\) ---\nThere is an open incident on the mobile app/);
    for (const agent of ['triage', 'billing', 'technical']) assert.match(stderr, new RegExp(`offline: replaying .*${agent}\\.transcript\\.json.*\\(agent ${agent}\\)`));
    assert.match(stderr, /chain local-[^:]+: triage end_turn → billing \(call\) end_turn → technical \(handoff\) end_turn/);
    assert.match(stderr, /skills loaded 3/);
  });
});
