import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDevApp, type DevApp } from '../../functions/dev/app';
import { REPO } from '../helpers';

/**
 * npm run dev on the example support agent, copied to a folder the test edits: offline (no
 * credentials here), so it replays the agent's transcript from the start of every run.
 */
let app: DevApp;
let root: string;
let folder: string;
const lines: string[] = [];
const saved = { ...process.env };

before(async () => {
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY']) delete process.env[key];
  // An app of its own: its models (cdk.json), its skills and the support agent's folder, all editable.
  root = mkdtempSync(join(tmpdir(), 'dev-app-'));
  cpSync(join(REPO, 'cdk.json'), join(root, 'cdk.json'));
  cpSync(join(REPO, 'skills'), join(root, 'skills'), { recursive: true });
  folder = join(root, 'agents');
  cpSync(join(REPO, 'stacks/single-agent'), folder, { recursive: true, filter: (src) => !src.endsWith('.ts') });
  app = await startDevApp({ root, folders: [folder], log: (line) => lines.push(line) });
});

after(async () => {
  await app?.close();
  Object.assign(process.env, saved);
});

const get = async (path: string) => (await (await fetch(`${app.url}${path}`)).json()) as Record<string, any>;
const invoke = async (input: string) => {
  const response = await fetch(`${app.url}/agents/support/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

/** Resolves when `check` holds, polling: a file change reaches the server through the file watcher. */
async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what} within ${ms} ms; the log says: ${lines.join(' | ')}`);
}

describe('npm run dev', () => {
  it('says at start how each agent runs, and lists them with their definition, routes and tools', async () => {
    assert.match(lines[0]!, /^support: replaying .*support\.transcript\.json/);
    const [support] = (await get('/agents')).agents;
    assert.equal(support.name, 'support');
    assert.match(support.mode, /^replaying /);
    assert.deepEqual(support.routes, ['POST /agents/support/invocations', 'POST /agents/support/jobs', 'GET /agents/support/jobs/{jobId}']);
    assert.ok(support.tools.some((t: { name: string }) => t.name === 'lookup_order'));
  });

  it('answers every run from the transcript\'s start, skills from the local folder and tools replayed', async () => {
    const first = await invoke('I was charged twice for ord_12345678.');
    const second = await invoke('And again: charged twice.');
    assert.deepEqual([first.status, second.status], [200, 200]);
    assert.equal(second.body.output, first.body.output);
    const runs = (await get('/dev/runs')).runs as Record<string, any>[];
    assert.equal(runs.length, 2);
    const records = (await get(`/dev/runs/${runs[0].runId}`)).records as Record<string, any>[];
    const steps = records.filter((r) => r.type === 'step');
    assert.ok(steps.some((s) => s.toolCalls.some((c: { name: string }) => c.name === 'load_skill')), 'a skill loaded from the folder');
  });

  it('uses an edited definition for the next run, without a restart', async () => {
    const before = (await get('/agents')).agents[0].version;
    const file = join(folder, 'support.agent.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^description: .*$/m, 'description: Triages tickets, edited while the server ran.'));
    await until(async () => (await get('/agents')).agents[0].description === 'Triages tickets, edited while the server ran.', 'the edited definition served');
    const after = (await get('/agents')).agents[0].version;
    assert.notEqual(after, before);
    await invoke('Charged twice again.');
    const [latest] = (await get('/dev/runs')).runs;
    assert.equal(latest.definitionVersion, after, 'the run used the edited definition');
  });

  it('keeps serving the agent as it was when an edit breaks its definition, and says why', async () => {
    const file = join(folder, 'support.agent.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace(/^model: .*$/m, 'model: 42'));
    await until(async () => lines.some((l) => /reload failed, serving the agents as they were: .*agent "support": model/.test(l)), 'the failed reload reported');
    assert.equal((await invoke('Still there?')).status, 200);
    writeFileSync(file, good);
  });

  it('uses edited instructions and an edited skill for the next run', async () => {
    const before = (await get('/agents')).agents[0].promptVersion;
    const instructions = join(folder, 'support.instructions.md');
    writeFileSync(instructions, `${readFileSync(instructions, 'utf8')}\nAlways thank the customer.\n`);
    await until(async () => (await get('/agents')).agents[0].promptVersion !== before, 'the edited instructions served');

    const skill = join(root, 'skills', 'ticket-triage', 'SKILL.md');
    writeFileSync(skill, `${readFileSync(skill, 'utf8')}\nEdited while the server ran.\n`);
    const reloads = lines.filter((l) => l.startsWith('reloaded')).length;
    await until(async () => lines.filter((l) => l.startsWith('reloaded')).length > reloads, 'a reload after the skill changed');
    const { body } = await invoke('Charged twice, once more.');
    const records = (await get(`/dev/runs/${body.runId}`)).records as Record<string, any>[];
    const loaded = records.flatMap((r) => (r.type === 'step' ? r.toolCalls : [])).find((c: { name: string; input: { name?: string } }) => c.name === 'load_skill' && c.input.name === 'ticket-triage');
    assert.match(loaded.content, /Edited while the server ran\./);
  });
});
