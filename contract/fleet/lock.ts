import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { formatIssues } from '../definition/define';

/**
 * Where each agent of a fleet lives, recorded in a file the team commits: shards hold agents by
 * name, in order. Placement is sticky: a new agent joins a shard with room (or a new one) and no
 * agent ever moves because another was added or removed, since moving an agent between stacks
 * replaces its function and its queue. Cloud-neutral: the AWS and Azure fleets read the same file.
 */

/** The context key (`-c serverless-agents:fleet-lock=update`) that lets synth write the lock file. */
export const FLEET_LOCK_CONTEXT = 'serverless-agents:fleet-lock';

const lockSchema = z.strictObject({
  version: z.literal(1),
  shards: z.array(z.array(z.string().min(1))),
});

export type FleetLock = z.infer<typeof lockSchema>;

export class FleetLockError extends Error {
  override name = 'FleetLockError';
}

export interface FleetPlacement {
  /** Agent names per shard, shard 0 first. */
  readonly shards: readonly (readonly string[])[];
  /** Agents the lock did not place, now placed. */
  readonly added: readonly string[];
  /** Agents the lock placed that are no longer in the fleet, now taken out. */
  readonly removed: readonly string[];
}

/**
 * Places `agents` given the lock's placement: every agent the lock places stays in its shard, new
 * ones fill the first shards with room (at most `agentsPerShard` each), then new shards.
 */
export function placeFleet(agents: readonly string[], lock: FleetLock | undefined, agentsPerShard: number): FleetPlacement {
  if (!(Number.isInteger(agentsPerShard) && agentsPerShard >= 1)) throw new FleetLockError(`agentsPerShard must be a whole number of agents, 1 or more; got ${agentsPerShard}`);
  const duplicate = agents.find((name, i) => agents.indexOf(name) !== i);
  if (duplicate) throw new FleetLockError(`agent "${duplicate}" is in the fleet twice; agent names are unique in a fleet`);
  const wanted = new Set(agents);
  const placed = new Set<string>();
  const removed: string[] = [];
  const shards = (lock?.shards ?? []).map((shard) =>
    shard.filter((name) => {
      if (placed.has(name)) throw new FleetLockError(`agent "${name}" is placed in two shards of the lock; keep it in one`);
      placed.add(name);
      if (wanted.has(name)) return true;
      removed.push(name);
      return false;
    }),
  );
  const added = agents.filter((name) => !placed.has(name));
  for (const name of added) {
    let shard = shards.find((s) => s.length < agentsPerShard);
    if (!shard) shards.push((shard = []));
    shard.push(name);
  }
  return { shards, added, removed };
}

/** The lock at `path`, or undefined when there is none yet; a malformed one fails naming the field. */
export function readFleetLock(path: string): FleetLock | undefined {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FleetLockError(`${path} is not JSON: ${(e as Error).message}`);
  }
  const parsed = lockSchema.safeParse(json);
  if (!parsed.success) throw new FleetLockError(`${path}: ${formatIssues(parsed.error.issues).join('; ')}`);
  return parsed.data;
}

/**
 * The fleet's placement from the lock at `path`. When the agents differ from what the lock
 * places, synth fails saying which, unless `update` is set: then the lock is rewritten (commit it).
 */
export function fleetPlacement(path: string, agents: readonly string[], agentsPerShard: number, update: boolean): FleetPlacement {
  const lock = readFleetLock(path);
  const placement = placeFleet(agents, lock, agentsPerShard);
  if (!placement.added.length && !placement.removed.length && lock) return placement;
  if (!update) {
    const what = [
      ...(lock ? [] : [`${path} does not exist yet`]),
      ...(placement.added.length ? [`${placement.added.length} agent(s) not placed yet (${list(placement.added)})`] : []),
      ...(placement.removed.length ? [`${placement.removed.length} placed agent(s) no longer in the fleet (${list(placement.removed)})`] : []),
    ];
    throw new FleetLockError(
      `the fleet lock is out of date: ${what.join('; ')}. Run synth once with -c ${FLEET_LOCK_CONTEXT}=update to place them (no placed agent moves) and commit ${path}`,
    );
  }
  // An emptied shard keeps its place (its stack, now without agents) so later shards keep their names.
  writeFileSync(path, `${JSON.stringify({ version: 1, shards: placement.shards }, null, 2)}\n`);
  return placement;
}

function list(names: readonly string[]): string {
  return names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
}
