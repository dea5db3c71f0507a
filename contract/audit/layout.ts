/**
 * Where a run's audit record lands, the same in S3 and in Blob storage: one JSON Lines object per
 * run under `agent=NAME/date=YYYY-MM-DD/`, so query engines read it partitioned by agent and date,
 * and a redelivered run overwrites its own record instead of adding another. The grant that lets an
 * agent write and the writer itself both take the layout from here.
 */

/** The prefix every audit object of `agent` starts with: the partition its grant covers. */
export const auditPrefix = (agent: string) => `agent=${agent}/`;

/** The object key of one run's record; `date` is the run's start, `YYYY-MM-DD` in UTC. */
export const auditKey = (agent: string, date: string, runId: string) => `${auditPrefix(agent)}date=${date}/${runId}.jsonl`;
