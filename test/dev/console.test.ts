import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDevApp, type DevApp } from '../../functions/dev/app';
import { REPO } from '../helpers';

/**
 * The dev console in headless Chromium, on the example support agent and team, offline (each agent
 * replaying its transcript): invoke an agent from the page, see its run as a timeline, follow a
 * chain of agents; no console errors. Writes docs/console.png when asked (UPDATE_SCREENSHOTS=1) or
 * when it is missing.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOT = join(REPO, 'docs', 'console.png');
const APPROVAL_SHOT = join(REPO, 'docs', 'console-approval.png');
let app: DevApp;
let browser: Browser | undefined;
const saved = { ...process.env };

before(async () => {
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY']) delete process.env[key];
  // A durable agent whose refund tool needs a person, replaying a transcript that asks for it.
  const durable = mkdtempSync(join(tmpdir(), 'dev-durable-'));
  writeFileSync(
    join(durable, 'refunds.agent.yaml'),
    [
      'name: refunds',
      'description: Refunds orders once a person approves.',
      'model: smart',
      'instructions: Refund what the customer asks, with the refund tool.',
      'durable: true',
      'triggers: [{ type: job }]',
      'tools:',
      '  - { name: refund, description: Refund an order., kind: http, url: "https://payments.internal.example.com/refunds", sideEffect: write, input: { type: object, required: [orderId], properties: { orderId: { type: string } } }, approval: { approvers: [developer] } }',
    ].join('\n'),
  );
  writeFileSync(
    join(durable, 'refunds.transcript.json'),
    JSON.stringify({
      agent: 'refunds',
      recordedAt: '2026-12-01T00:00:00.000Z',
      turns: [
        { content: [{ type: 'tool_use', id: 'call_1', name: 'refund', input: { orderId: 'ord_12345678' } }], stopReason: 'tool_use', usage: { inputTokens: 300, outputTokens: 20, cacheReadTokens: 0, cacheWriteTokens: 0 } },
        { content: [{ type: 'text', text: 'Refunded ord_12345678.' }], stopReason: 'end_turn', usage: { inputTokens: 350, outputTokens: 12, cacheReadTokens: 0, cacheWriteTokens: 0 } },
      ],
      toolResults: [{ tool: 'refund', input: { orderId: 'ord_12345678' }, content: '{"refunded":true}' }],
    }),
  );
  app = await startDevApp({ root: REPO, folders: [join(REPO, 'stacks/single-agent'), join(REPO, 'stacks/multi-agent'), durable], watch: false, log: () => {} });
});

after(async () => {
  await browser?.close();
  await app?.close();
  Object.assign(process.env, saved);
});

async function open(): Promise<{ page: Page; errors: string[] }> {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => void (new URL(r.url()).origin !== app.url && errors.push(`request outside the dev server: ${r.url()}`)));
  await page.goto(`${app.url}/console/`);
  return { page, errors };
}

describe('the dev console in a browser', () => {
  it('lists the agents, invokes one, and shows its run as a timeline of model turns, skills and tools', async () => {
    const { page, errors } = await open();
    await page.locator('[data-agent="support"]').click();
    assert.match(await page.locator('[data-testid="agent"]').innerText(), /Triages customer support tickets/);
    await page.locator('[data-testid="input"]').fill('I was charged twice for order ord_12345678.');
    await page.locator('[data-testid="invoke"]').click();
    await page.locator('[data-testid="answer"]').waitFor();
    assert.match(await page.locator('[data-testid="answer"]').innerText(), /200/);
    await page.locator('[data-testid="stop"]').waitFor();
    const models = await page.locator('[data-testid="model-step"]').count();
    assert.ok(models >= 2, `${models} model turns`);
    assert.ok((await page.locator('[data-testid="skill"]').count()) >= 1, 'a skill load');
    assert.match(await page.locator('[data-testid="timeline"]').innerText(), /Tool: lookup_order/);
    assert.match(await page.locator('[data-testid="stop"]').innerText(), /Stop: end_turn\s+succeeded/);
    assert.match(await page.locator('[data-testid="runs"]').innerText(), /support/);
    assert.deepEqual(errors, []);
  });

  it('follows a chain of agents from the orchestrator\'s run', async () => {
    const { page, errors } = await open();
    await page.locator('[data-agent="triage"]').click();
    await page.locator('[data-testid="input"]').fill('I was charged twice and the app crashes on sign-in.');
    await page.locator('[data-testid="invoke"]').click();
    await page.locator('[data-testid="stop"]').waitFor();
    await app.server.queue.idle();
    await page.locator('[data-testid="chain"]').waitFor({ timeout: 5_000 });
    const chain = await page.locator('[data-testid="chain"]').innerText();
    // One view of the chain, in order: the orchestrator, then what it called and handed off.
    assert.match(chain, /started the chain\s+triage[\s\S]*→ (call|handoff) from triage\s+(billing|technical)[\s\S]*→ (call|handoff) from triage\s+(billing|technical)/);
    for (const agent of ['triage', 'billing', 'technical']) assert.match(chain, new RegExp(agent));
    assert.deepEqual(errors, []);
    const shot = process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(SHOT) ? SHOT : join(mkdtempSync(join(tmpdir(), 'console-')), 'console.png');
    await page.screenshot({ path: shot, fullPage: true });
  });

  it('approves a call a durable job waits on, and shows the decision on the run\'s timeline', async () => {
    const { page, errors } = await open();
    await page.locator('[data-agent="refunds"]').click();
    await page.locator('[data-testid="input"]').fill('Please refund ord_12345678.');
    await page.getByRole('button', { name: 'Queue as a job' }).click();
    await page.locator('[data-testid="approve"]').waitFor();
    assert.match(await page.locator('[data-testid="approvals"]').innerText(), /refunds · refund[\s\S]*ord_12345678/);
    const shot = process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(APPROVAL_SHOT) ? APPROVAL_SHOT : join(mkdtempSync(join(tmpdir(), 'console-')), 'approval.png');
    await page.screenshot({ path: shot, fullPage: true });
    await page.locator('[data-testid="approve"]').click();
    await page.locator('[data-testid="decision"]').waitFor({ timeout: 5_000 });
    assert.match(await page.locator('[data-testid="decision"]').innerText(), /approved by developer/);
    assert.match(await page.locator('[data-testid="stop"]').innerText(), /Stop: end_turn\s+succeeded/);
    assert.match(await page.locator('[data-testid="approvals"]').innerText(), /None/);
    await page.locator('[data-testid="jobs"] tr', { hasText: 'refunds' }).filter({ hasText: 'succeeded' }).waitFor({ timeout: 5_000 });
    assert.deepEqual(errors, []);
  });
});
