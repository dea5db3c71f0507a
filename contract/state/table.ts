/**
 * The layout of the AgentStateTable on AWS. IAM limits each agent to its own key prefixes and the
 * API reads job records straight from the table, so the constructs that grant and template and the
 * runtime that writes must agree on every name here: one definition.
 */
export const STATE_TABLE = {
  /** The partition key of every record. */
  partitionKey: 'id',
  /** Epoch seconds after which DynamoDB deletes the record. */
  expiration: 'expiration',
  /** A job record's whole JSON, which the API's status route returns as it is. */
  record: 'record',
} as const;

/**
 * The keys of an agent's records in the state table. Every prefix an agent is granted ends at a
 * separator, so agent `support` reaches none of the records of `support-eu`.
 */
export const STATE_KEYS = {
  /** Every job record starts with this. */
  jobs: 'job#',
  jobPrefix: (agent: string) => `job#${agent}#`,
  job: (agent: string, jobId: string) => `job#${agent}#${jobId}`,
  /** What Powertools idempotency is given as its key prefix; it adds `#` and a hash. */
  idempotencyKeyPrefix: (agent: string) => `idem#${agent}`,
  /** Every idempotency record of the agent starts with this. */
  idempotencyPrefix: (agent: string) => `idem#${agent}#`,
  /** Task inputs too large for a message, left for the agent by the agents that send it tasks. */
  inboxPrefix: (agent: string) => `inbox#${agent}#`,
  /** One part of such an input. */
  inbox: (agent: string, key: string, part: number) => `inbox#${agent}#${key}#${part}`,
  /**
   * What a durable run keeps for itself and no other agent may write: step results and conversation
   * state too large for a checkpoint, and the engine's handles on the run (its execution, the
   * callback an approval answers).
   */
  durablePrefix: (agent: string) => `durable#${agent}#`,
  durable: (agent: string, key: string, part: number) => `durable#${agent}#${key}#${part}`,
} as const;

/** A job's record as a blob in an Azure agent's `jobs` container. */
export const jobBlobName = (jobId: string) => `${jobId}.json`;
