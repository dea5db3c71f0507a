import { isStagingOnlySetting, type AzureRolloutTarget } from '../../contract/delivery/azure-rollout';
import { runRatesQuery } from '../../contract/metrics/azure-run-metrics';

/**
 * The Azure half of a gradual rollout, run after `cdktf deploy` put each agent's new version in its
 * `staging` slot: swap staging into production, watch the agent's run and validation failure rates
 * in Application Insights for the rollout's minutes, and swap back (the old version is in staging
 * now) when either passes its maximum. The first agent goes alone, then the others `concurrency` at
 * a time, and no agent starts once one was rolled back, so a bad shared runtime stops after one.
 */
export interface AzureRolloutOptions {
  readonly subscriptionId: string;
  /** An Entra ID access token for a scope (`https://management.azure.com/.default`, `https://api.applicationinsights.io/.default`). */
  readonly token: (scope: string) => Promise<string>;
  /** @default 'https://management.azure.com' */
  readonly armUrl?: string;
  /** @default 'https://api.applicationinsights.io' */
  readonly insightsUrl?: string;
  /** How often the rates are read while a version is watched. @default 60 */
  readonly pollSeconds?: number;
  /**
   * How long past the watch the last reading waits, for the runs of its last minutes to reach
   * Application Insights (ingestion takes minutes). @default 5
   */
  readonly graceMinutes?: number;
  /** Agents swapped at once after the first. @default 10 */
  readonly concurrency?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
}

export interface AzureRolloutOutcome {
  readonly agent: string;
  /** False when the staged version was production's already (nothing swapped, nothing watched). */
  readonly swapped: boolean;
  readonly runs: number;
  readonly failureRate: number;
  readonly validationFailureRate: number;
}

/** A rollout that did not end with the new version in production: why, and what was done about it. */
export class AzureRolloutFailed extends Error {
  override name = 'AzureRolloutFailed';
  constructor(
    message: string,
    /** Whether the previous version is back in production. */
    readonly rolledBack: boolean,
  ) {
    super(message);
  }
}

const SITES_API = '2024-04-01';
const ARM = 'https://management.azure.com';
const INSIGHTS = 'https://api.applicationinsights.io';
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Swaps, watches and, when its rates say so, swaps back one agent. */
export async function rollOutAgent(target: AzureRolloutTarget, options: AzureRolloutOptions): Promise<AzureRolloutOutcome> {
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? pause;
  // A deploy stages every agent; one whose staged version is production's is left alone (a swap
  // would restart it and end the runs in flight for nothing).
  if (await sameVersion(target, options)) {
    log(`agent ${target.agent}: staging holds production's version; nothing to roll out`);
    return { agent: target.agent, swapped: false, runs: 0, failureRate: 0, validationFailureRate: 0 };
  }
  await swap(target, options);
  // Only runs of the new version count: from the moment it took production.
  const started = now();
  log(`agent ${target.agent}: the staged version is in production; watching its runs for ${target.minutes} min`);
  const until = started.getTime() + (target.minutes + (options.graceMinutes ?? 5)) * 60_000;
  const poll = (options.pollSeconds ?? 60) * 1000;
  for (;;) {
    const last = now().getTime() >= until;
    let rates: Omit<AzureRolloutOutcome, 'agent' | 'swapped'>;
    try {
      rates = await readRates(target, started, options);
    } catch (e) {
      // A version no one can watch does not stay in production.
      return swapBack(target, options, `its run metrics could not be read (${(e as Error).message})`);
    }
    const over =
      rates.runs > 0 && rates.failureRate > target.maxRunFailureRate
        ? `${percent(rates.failureRate)} of its runs ended without a valid answer (at most ${percent(target.maxRunFailureRate)})`
        : rates.runs > 0 && rates.validationFailureRate > target.maxValidationFailureRate
          ? `${percent(rates.validationFailureRate)} of its answers failed the output contract (at most ${percent(target.maxValidationFailureRate)})`
          : undefined;
    if (over) return swapBack(target, options, `${over} in ${rates.runs} run(s)`);
    if (last) {
      log(`agent ${target.agent}: ${rates.runs} run(s) in ${target.minutes} min, ${percent(rates.failureRate)} failed, ${percent(rates.validationFailureRate)} invalid: rolled out`);
      return { agent: target.agent, swapped: true, ...rates };
    }
    await sleep(Math.min(poll, Math.max(0, until - now().getTime())));
  }
}

/** Swaps the previous version (now in staging) back into production, and fails saying why. */
async function swapBack(target: AzureRolloutTarget, options: AzureRolloutOptions, why: string): Promise<never> {
  try {
    await swap(target, options);
  } catch (e) {
    throw new AzureRolloutFailed(`agent ${target.agent}: ${why}, and swapping the previous version back failed: ${(e as Error).message}`, false);
  }
  throw new AzureRolloutFailed(`agent ${target.agent}: ${why}; the previous version is back in production`, true);
}

/** Rolls out every target: the first alone, then the others `concurrency` at a time; stops starting agents after the first failure. */
export async function rollOutAll(targets: readonly AzureRolloutTarget[], options: AzureRolloutOptions): Promise<AzureRolloutOutcome[]> {
  const outcomes: AzureRolloutOutcome[] = [];
  const failures: AzureRolloutFailed[] = [];
  const lanes = options.concurrency ?? 10;
  if (!(Number.isInteger(lanes) && lanes >= 1)) throw new Error(`concurrency must be a whole number from 1; got ${lanes}`);
  const waves = targets.length ? [targets.slice(0, 1), ...chunk(targets.slice(1), lanes)] : [];
  for (const wave of waves) {
    const results = await Promise.allSettled(wave.map((t) => rollOutAgent(t, options)));
    for (const r of results) {
      if (r.status === 'fulfilled') outcomes.push(r.value);
      else failures.push(r.reason instanceof AzureRolloutFailed ? r.reason : new AzureRolloutFailed(String((r.reason as Error)?.message ?? r.reason), false));
    }
    if (failures.length) {
      const left = targets.length - outcomes.length - failures.length;
      throw new AzureRolloutFailed(`${failures.map((f) => f.message).join('; ')}${left ? `; ${left} agent(s) not started, their new versions still staged` : ''}`, failures.every((f) => f.rolledBack));
    }
  }
  return outcomes;
}

/** Whether the staging slot holds what production runs: the same settings, package and definition included, apart from the slot's own. */
async function sameVersion(target: AzureRolloutTarget, options: AzureRolloutOptions): Promise<boolean> {
  const [production, staging] = await Promise.all([appSettings(target, options, ''), appSettings(target, options, '/slots/staging')]);
  const version = (settings: Record<string, string>) => JSON.stringify(Object.entries(settings).filter(([k]) => !isStagingOnlySetting(k)).sort(([a], [b]) => a.localeCompare(b)));
  return version(production) === version(staging);
}

/**
 * A request to `url` with a token for the API at `api`; any answer but `ok` fails naming the agent
 * and `what` was being done.
 */
async function call(target: AzureRolloutTarget, options: AzureRolloutOptions, api: string, url: string, what: string, request: { method: 'GET' | 'POST'; json?: unknown }, ok: readonly number[] = [200]): Promise<Response> {
  const token = await options.token(`${api}/.default`);
  const response = await fetch(url, {
    method: request.method,
    headers: { authorization: `Bearer ${token}`, ...(request.json !== undefined && { 'content-type': 'application/json' }) },
    ...(request.json !== undefined && { body: JSON.stringify(request.json) }),
  });
  if (!ok.includes(response.status)) throw new AzureRolloutFailed(`agent ${target.agent}: ${what} answered ${response.status}: ${(await response.text()).slice(0, 300)}`, false);
  return response;
}

async function appSettings(target: AzureRolloutTarget, options: AzureRolloutOptions, slot: string): Promise<Record<string, string>> {
  const arm = options.armUrl ?? ARM;
  const response = await call(target, options, arm, `${site(target, arm, options)}${slot}/config/appsettings/list?api-version=${SITES_API}`, `reading ${target.app}${slot ? "'s staging slot" : ''} settings`, { method: 'POST' });
  return ((await response.json()) as { properties?: Record<string, string> }).properties ?? {};
}

const site = (target: AzureRolloutTarget, arm: string, options: AzureRolloutOptions) =>
  `${arm}/subscriptions/${options.subscriptionId}/resourceGroups/${target.resourceGroup}/providers/Microsoft.Web/sites/${target.app}`;

/** Swaps the `staging` slot with production and waits until Azure says it is done. */
async function swap(target: AzureRolloutTarget, options: AzureRolloutOptions): Promise<void> {
  const arm = options.armUrl ?? ARM;
  const what = `swapping ${target.app}'s staging slot`;
  let response = await call(target, options, arm, `${site(target, arm, options)}/slots/staging/slotsswap?api-version=${SITES_API}`, what, { method: 'POST', json: { targetSlot: 'production', preserveVnet: true } }, [200, 202]);
  for (let polls = 0; response.status === 202; polls++) {
    const location = response.headers.get('location') ?? response.headers.get('azure-asyncoperation');
    if (!location) throw new AzureRolloutFailed(`agent ${target.agent}: the swap was accepted with nowhere to follow it`, false);
    if (polls >= 120) throw new AzureRolloutFailed(`agent ${target.agent}: the swap did not finish in ${polls} checks`, false);
    await (options.sleep ?? pause)(Number(response.headers.get('retry-after') ?? 5) * 1000);
    response = await call(target, options, arm, location, what, { method: 'GET' }, [200, 202]);
  }
}

async function readRates(target: AzureRolloutTarget, since: Date, options: AzureRolloutOptions): Promise<Omit<AzureRolloutOutcome, 'agent' | 'swapped'>> {
  const insights = options.insightsUrl ?? INSIGHTS;
  const response = await call(target, options, insights, `${insights}/v1/apps/${target.insightsAppId}/query`, 'reading its run metrics', { method: 'POST', json: { query: runRatesQuery(target.agent, since) } });
  const body = (await response.json()) as { tables?: { columns: { name: string }[]; rows: unknown[][] }[] };
  const table = body.tables?.[0];
  const column = (name: string) => Number(table?.rows[0]?.[table.columns.findIndex((c) => c.name === name)] ?? 0) || 0;
  const runs = column('runs');
  return { runs, failureRate: runs ? column('failures') / runs : 0, validationFailureRate: runs ? column('invalid') / runs : 0 };
}

const percent = (rate: number) => `${(rate * 100).toFixed(1).replace(/\.0$/, '')}%`;
const chunk = <T>(items: readonly T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));
