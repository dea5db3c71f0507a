import type { TaskInbox } from '../core/chain/inbox';
import type { StepRunner } from '../core/agent/steps';

/**
 * Checkpoints that stay small. A durable engine records each step's result in its own store with a
 * size limit (256 KB per checkpoint on Lambda; Azure's Storage backend takes large messages but
 * writes each into its history again), and one tool's output or one conversation can be larger.
 * Such a value goes to the agent's private part of the state store, and the checkpoint holds only
 * its key: the engine replays the key, and the value is read back from the store.
 */

/** A value larger than this (as JSON, in bytes) is kept by reference: Lambda's 256 KB with room for the engine's own envelope. */
export const CHECKPOINT_INLINE_BYTES = 200 * 1024;

/** Where a durable run keeps what it keeps by reference: the agent's own, written by no other agent. */
export interface DurableStore {
  put(key: string, text: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
}

/** An agent's part of a state store that keeps texts by agent and key. */
export function durableStoreOf(store: TaskInbox, agent: string): DurableStore {
  return { put: (key, text) => store.put(agent, key, text), get: (key) => store.get(agent, key) };
}

/** What a checkpoint holds in place of a value kept in the store. */
export interface CheckpointReference {
  readonly checkpointRef: string;
  /** The bytes kept, for whoever reads the engine's history. */
  readonly bytes: number;
}

export function isCheckpointReference(value: unknown): value is CheckpointReference {
  return typeof value === 'object' && value !== null && typeof (value as CheckpointReference).checkpointRef === 'string' && Object.keys(value).length === 2;
}

/** `value` itself when it is small, otherwise kept under `key` and referenced. */
export async function keepSmall<T>(value: T, key: string, store: DurableStore | undefined, limit = CHECKPOINT_INLINE_BYTES): Promise<T | CheckpointReference> {
  const text = JSON.stringify(value);
  if (text === undefined) return value;
  const bytes = Buffer.byteLength(text);
  if (bytes <= limit) return value;
  if (!store) throw new Error(`a step's result takes ${bytes} bytes, more than a checkpoint holds (${limit}), and this agent has no state store to keep it in`);
  await store.put(key, text);
  return { checkpointRef: key, bytes };
}

/** The value a checkpoint holds, read from the store when it holds a reference. */
export async function readKept<T>(kept: T | CheckpointReference, store: DurableStore | undefined): Promise<T> {
  if (!isCheckpointReference(kept)) return kept;
  const text = store && (await store.get(kept.checkpointRef));
  if (text === undefined) throw new Error(`the checkpointed value ${kept.checkpointRef} is not in the state store (expired, or deleted)`);
  return JSON.parse(text) as T;
}

/** `runner`, with each step's result kept by reference when it is too large for a checkpoint. */
export function keepingLargeResults(runner: StepRunner, store: DurableStore | undefined, runId: string, limit = CHECKPOINT_INLINE_BYTES): StepRunner {
  return {
    ...runner,
    step: async <T>(name: string, perform: () => Promise<T>): Promise<T> => {
      // The key names the run and the step, so a step performed again writes the same record.
      const kept = await runner.step(name, async () => keepSmall(await perform(), `${runId}/${name}`, store, limit));
      return readKept<T>(kept as T | CheckpointReference, store);
    },
  };
}
