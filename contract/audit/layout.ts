/**
 * Where a run's audit records land, the same in S3 and in Blob storage: one JSON Lines object per
 * attempt at a run, under `agent=NAME/date=YYYY-MM-DD/RUN_ID/`, so query engines read them
 * partitioned by agent and date and a run's attempts list under one prefix. A run tried again (a
 * redelivered job, a caller retrying with its idempotency key) adds an object beside the first
 * and never replaces it; the writers create objects only if absent. The grant that lets an agent
 * write and the writers themselves take the layout from here.
 */

/** The prefix every audit object of `agent` starts with: the partition its grant covers. */
export const auditPrefix = (agent: string) => `agent=${agent}/`;

/**
 * The object key of one attempt at a run; `date` is the attempt's start, `YYYY-MM-DD` in UTC, and
 * `attempt` the id the run record carries (see `attemptId`).
 */
export const auditKey = (agent: string, date: string, runId: string, attempt: string) => `${auditPrefix(agent)}date=${date}/${runId}/${attempt}.jsonl`;

/**
 * An attempt's id: its start as compact UTC time, so a run's attempts sort in the order they
 * began, and random hex, so two deliveries starting in the same millisecond still differ.
 */
export const attemptId = (startedMs: number, random: string) => `${new Date(startedMs).toISOString().replace(/[-:.]/g, '')}-${random}`;

/**
 * Where a run that belongs to a chain of agents (one another agent sent, or one that sent tasks)
 * also leaves its run record: under its agent's partition, by the chain's correlation id, so the
 * whole chain is found by listing one prefix per agent of the team, in the order its runs began.
 * Query engines reading the `date=` partitions do not see these.
 */
export const chainPrefix = (agent: string, correlationId: string) => `${auditPrefix(agent)}chain=${correlationId}/`;

export const chainKey = (agent: string, correlationId: string, runId: string, attempt: string) => `${chainPrefix(agent, correlationId)}${attempt}-${runId}.json`;
