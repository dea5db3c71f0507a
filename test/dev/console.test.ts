import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
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
let app: DevApp;
let browser: Browser | undefined;
const saved = { ...process.env };

before(async () => {
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY']) delete process.env[key];
  app = await startDevApp({ root: REPO, folders: [join(REPO, 'stacks/single-agent'), join(REPO, 'stacks/multi-agent')], watch: false, log: () => {} });
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
    for (const agent of ['triage', 'billing', 'technical']) assert.match(chain, new RegExp(agent));
    assert.deepEqual(errors, []);
    const shot = process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(SHOT) ? SHOT : join(mkdtempSync(join(tmpdir(), 'console-')), 'console.png');
    await page.screenshot({ path: shot, fullPage: true });
  });
});
