import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AZURE_ROLLOUT_OUTPUT, type AzureRolloutTarget } from '../../contract/delivery/azure-rollout';
import { AzureRolloutFailed, rollOutAgent, rollOutAll, type AzureRolloutOptions } from '../../functions/delivery/azure-rollout';
import { startLoopback, type LoopbackServer } from '../__fixtures__/loopback';

/**
 * The Azure rollout against a loopback Azure: Resource Manager's slot swap (accepted, then done
 * when its operation is followed) and Application Insights' query API (scripted rows per agent),
 * each checking the bearer token it is sent. The clock is the test's: a sleep moves it.
 */
const SUBSCRIPTION = '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
type Rates = { runs: number; failures: number; invalid: number };
let azure: LoopbackServer;
/** Per agent, the rows its queries answer, one per query (the last repeats). */
let rates: Record<string, Rates[]>;
let swapStatus: number;
/** Apps whose staging slot holds production's version already. */
let unchanged: Set<string>;
let queryStatus: number;
let clock: number;

const target = (agent: string, minutes = 5): AzureRolloutTarget => ({
  kind: AZURE_ROLLOUT_OUTPUT,
  agent,
  app: `app-${agent}`,
  resourceGroup: 'agents-prod-rg',
  insightsAppId: `insights-${agent}`,
  minutes,
  maxRunFailureRate: 0.05,
  maxValidationFailureRate: 0.1,
});

const options = (extra: Partial<AzureRolloutOptions> = {}): AzureRolloutOptions => ({
  subscriptionId: SUBSCRIPTION,
  token: async (scope) => `token-for ${scope}`,
  armUrl: azure.url,
  insightsUrl: azure.url,
  now: () => new Date(clock),
  sleep: async (ms) => {
    clock += ms;
  },
  ...extra,
});

const swaps = () => azure.requests.filter((r) => r.method === 'POST' && r.path.includes('/slotsswap')).map((r) => /sites\/([^/]+)\//.exec(r.path)![1]);

before(async () => {
  azure = await startLoopback((request) => {
    const auth = String(request.headers.authorization ?? '');
    if (request.path.includes('/slotsswap')) {
      if (auth !== `Bearer token-for ${azure.url}/.default`) return { status: 401, body: { error: 'wrong token' } };
      if (swapStatus !== 202) return { status: swapStatus, body: { error: { code: 'Conflict', message: 'Another operation is in progress' } } };
      return { status: 202, headers: { location: `${azure.url}/operations/${azure.requests.length}`, 'retry-after': '1' } };
    }
    if (request.path.startsWith('/operations/')) return { status: 200, body: {} };
    const settings = /sites\/([^/]+)(\/slots\/staging)?\/config\/appsettings\/list/.exec(request.path);
    if (settings && request.method === 'POST') {
      if (auth !== `Bearer token-for ${azure.url}/.default`) return { status: 401, body: { error: 'wrong token' } };
      const staging = !!settings[2];
      const version = staging && !unchanged.has(settings[1]!) ? 'v2' : 'v1';
      // The slot's own (sticky) settings never count as a difference.
      const own = staging ? { 'AzureWebJobs.queue.Disabled': 'true', AzureFunctionsWebHost__hostid: 'app-staging' } : {};
      return { status: 200, body: { properties: { WEBSITE_RUN_FROM_PACKAGE: `https://pkg/${version}.zip`, AGENT_CONFIG: 'config', ...own } } };
    }
    const query = /^\/v1\/apps\/insights-([a-z-]+)\/query$/.exec(request.path);
    if (query && request.method === 'POST') {
      if (auth !== `Bearer token-for ${azure.url}/.default`) return { status: 401, body: { error: 'wrong token' } };
      if (queryStatus !== 200) return { status: queryStatus, body: { error: 'throttled' } };
      const text = (request.body as { query: string }).query;
      const agent = query[1]!;
      assert.match(text, new RegExp(`tostring\\(line\\.agent\\) == "${agent}"`));
      assert.match(text, /\| where timestamp >= datetime\(2026-12-02T10:\d\d:\d\d\.000Z\)/);
      const list = rates[agent] ?? [{ runs: 0, failures: 0, invalid: 0 }];
      const row = list.length > 1 ? list.shift()! : list[0]!;
      return { status: 200, body: { tables: [{ name: 'PrimaryResult', columns: [{ name: 'runs' }, { name: 'failures' }, { name: 'invalid' }], rows: [[row.runs, row.failures, row.invalid]] }] } };
    }
    return { status: 404, body: { error: `no route ${request.method} ${request.path}` } };
  });
});
after(() => azure?.close());
beforeEach(() => {
  azure.requests.length = 0;
  rates = {};
  swapStatus = 202;
  unchanged = new Set();
  queryStatus = 200;
  clock = Date.parse('2026-12-02T10:00:00Z');
});

describe('the Azure rollout of a staged agent', () => {
  it('swaps staging into production, follows the operation, watches for its minutes and keeps a healthy version', async () => {
    rates.support = [{ runs: 40, failures: 1, invalid: 2 }];
    const outcome = await rollOutAgent(target('support', 5), options());
    assert.deepEqual(outcome, { agent: 'support', swapped: true, runs: 40, failureRate: 0.025, validationFailureRate: 0.05 });
    assert.deepEqual(swaps(), ['app-support']);
    const swap = azure.requests.find((r) => r.path.includes('/slotsswap'))!;
    assert.equal(swap.path, `/subscriptions/${SUBSCRIPTION}/resourceGroups/agents-prod-rg/providers/Microsoft.Web/sites/app-support/slots/staging/slotsswap?api-version=2024-04-01`);
    assert.deepEqual(swap.body, { targetSlot: 'production', preserveVnet: true });
    assert.ok(azure.requests.some((r) => r.path.startsWith('/operations/')), 'waited for the swap to finish');
    // Read once a minute for 5 minutes and the 5 minutes ingestion takes, and once at the end.
    assert.equal(azure.requests.filter((r) => r.path.endsWith('/query')).length, 11);
    // Watched from the moment the swap finished (after its operation's retry-after), for 5 minutes.
    assert.match((azure.requests.find((r) => r.path.endsWith('/query'))!.body as { query: string }).query, /datetime\(2026-12-02T10:00:01\.000Z\)/);
    assert.equal(clock, Date.parse('2026-12-02T10:10:01Z'));
  });

  it('swaps back when the run failure rate passes its maximum, and says so', async () => {
    rates.support = [{ runs: 3, failures: 0, invalid: 0 }, { runs: 10, failures: 2, invalid: 0 }];
    await assert.rejects(rollOutAgent(target('support'), options()), (e: unknown) => {
      assert.ok(e instanceof AzureRolloutFailed);
      assert.equal(e.rolledBack, true);
      assert.equal(e.message, 'agent support: 20% of its runs ended without a valid answer (at most 5%) in 10 run(s); the previous version is back in production');
      return true;
    });
    assert.deepEqual(swaps(), ['app-support', 'app-support'], 'swapped in, then back');
  });

  it('swaps back when answers fail the output contract too often: a quality gate, not only a crash gate', async () => {
    rates.support = [{ runs: 20, failures: 0, invalid: 5 }];
    await assert.rejects(rollOutAgent(target('support'), options()), /25% of its answers failed the output contract \(at most 10%\) in 20 run\(s\); the previous version is back/);
    assert.equal(swaps().length, 2);
  });

  it('swaps back when its metrics cannot be read, since no one could watch it', async () => {
    queryStatus = 429;
    await assert.rejects(rollOutAgent(target('support'), options()), /agent support: its run metrics could not be read \(agent support: reading its run metrics answered 429: .*\); the previous version is back in production/);
    assert.equal(swaps().length, 2);
  });

  it('fails naming the agent when Azure refuses the swap, with production as it was', async () => {
    swapStatus = 409;
    await assert.rejects(rollOutAgent(target('support'), options()), (e: unknown) => e instanceof AzureRolloutFailed && !e.rolledBack && /agent support: swapping app-support's staging slot answered 409: .*Another operation is in progress/.test(e.message));
    assert.equal(azure.requests.filter((r) => r.path.endsWith('/query')).length, 0, 'nothing watched');
  });

  it('treats a quiet agent (no runs) as healthy', async () => {
    const outcome = await rollOutAgent(target('quiet', 1), options());
    assert.deepEqual(outcome, { agent: 'quiet', swapped: true, runs: 0, failureRate: 0, validationFailureRate: 0 });
  });

  it('leaves an agent whose staged version is production\'s alone: no swap, nothing watched', async () => {
    unchanged.add('app-support');
    const outcome = await rollOutAgent(target('support'), options());
    assert.deepEqual(outcome, { agent: 'support', swapped: false, runs: 0, failureRate: 0, validationFailureRate: 0 });
    assert.deepEqual(swaps(), []);
    assert.equal(azure.requests.filter((r) => r.path.endsWith('/query')).length, 0);
  });
});

describe('rolling out many agents (a new shared runtime)', () => {
  it('takes the first alone, then the others in lanes, and rolls them all out', async () => {
    const started: string[] = [];
    const names = ['a', 'b', 'c', 'd', 'e'];
    const outcomes = await rollOutAll(names.map((n) => target(n, 1)), options({ concurrency: 2, log: (line) => line.includes('is in production') && started.push(line.split(':')[0]!) }));
    assert.deepEqual(outcomes.map((o) => o.agent), names);
    assert.deepEqual(started, ['agent a', 'agent b', 'agent c', 'agent d', 'agent e']);
    // a alone, then b and c side by side, then d and e.
    const order = swaps();
    assert.deepEqual(order[0], 'app-a');
    assert.deepEqual(order.slice(1, 3).sort(), ['app-b', 'app-c']);
    assert.deepEqual(order.slice(3).sort(), ['app-d', 'app-e']);
    // b and c are watched side by side: their readings alternate instead of one finishing first.
    const readings = azure.requests.filter((r) => r.path.endsWith('/query')).map((r) => /insights-([a-z])/.exec(r.path)![1]).filter((a) => a === 'b' || a === 'c');
    assert.ok(readings.indexOf('c') < readings.lastIndexOf('b'), `b and c overlap: ${readings.join('')}`);
  });

  it('starts no other agent once the first is rolled back, and says which were left staged', async () => {
    rates.a = [{ runs: 10, failures: 5, invalid: 0 }];
    await assert.rejects(rollOutAll(['a', 'b', 'c'].map((n) => target(n)), options()), (e: unknown) => {
      assert.ok(e instanceof AzureRolloutFailed && e.rolledBack);
      assert.match(e.message, /^agent a: 50% of its runs ended without a valid answer .*; 2 agent\(s\) not started, their new versions still staged$/);
      return true;
    });
    assert.deepEqual(swaps(), ['app-a', 'app-a']);
  });
});
