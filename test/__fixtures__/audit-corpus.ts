import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { defineAgent } from '../../contract/definition';
import { S3AuditSink } from '../../functions/aws/adapters';
import { MemoryAuditSink, type AuditRecord, type AuditSink } from '../../functions/core/audit/records';
import { ModelError } from '../../functions/core/models/types';
import { resetBreakers } from '../../functions/core/models/circuit-breaker';
import { MemoryMetrics } from '../../functions/core/telemetry/metrics';
import { assembleRuntime } from '../../functions/entry/assemble';
import { agentInput } from '../helpers';
import { startS3Fake } from './aws-fakes';
import { ScriptedProvider, type ScriptStep } from './scripted-provider';
import { memoryTeam, teamDefinitions } from './team';

const BUCKET = 'audit';
/** USD per million tokens for every model here: a scripted turn (100 in, 20 out) costs 0.0012. */
const PRICE = { inputPerMTok: 6, outputPerMTok: 30 };
const TURN_COST = (100 * 6 + 20 * 30) / 1e6;

/** The runs the corpus holds, by what they show, for tests to expect. */
export interface AuditCorpus {
  /** The bucket downloaded: audit objects under their keys, as `aws s3 sync` leaves them. */
  readonly folder: string;
  /** Every record the runtime wrote, as written. */
  readonly records: readonly AuditRecord[];
  /** The first and last day the records were written on (one, unless the run crossed midnight UTC). */
  readonly days: [string, string];
  readonly turnCost: number;
  /** The chain's correlation id: triage calls billing, then hands off to technical. */
  readonly chain: string;
  readonly runs: { readonly answered: string; readonly invalid: string; readonly denied: string; readonly fallback: string; readonly unavailable: string };
}

/**
 * Audit records written by the real runtime through the real S3 sink into a loopback S3, then
 * downloaded with the real client: a chain of three agents (cohort `support` and `finance`), and
 * an intake agent (cohort `intake`) with an output contract that answers once validly, once past
 * its due date, asks once for a tool its cohort's policy denies, falls back from a failing model
 * to another, and once finds no model at all.
 */
export async function writeAuditCorpus(): Promise<AuditCorpus> {
  resetBreakers();
  const s3 = await startS3Fake();
  try {
    const client = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const memory = new MemoryAuditSink();
    const s3Sink = new S3AuditSink(BUCKET, client);
    const sink: AuditSink = {
      write: async (records) => {
        await memory.write(records);
        await s3Sink.write(records);
      },
    };
    const deadline = () => Date.now() + 30_000;

    // The chain: triage (support) asks billing (finance), then hands off to technical (support).
    const definitions = teamDefinitions({ triage: { cohort: 'support' }, billing: { cohort: 'finance' }, technical: { cohort: 'support' } });
    const { team } = await memoryTeam(
      definitions,
      {
        triage: [{ toolUses: [{ name: 'ask_billing', input: { task: 'Was ord_12345678 charged twice?' } }] }, { toolUses: [{ name: 'handoff', input: { agent: 'technical', input: 'The app crashes on login.' } }] }, { text: 'Billing refunds one charge; technical has your login problem.' }],
        billing: [{ text: 'Yes: refund one charge.' }],
        technical: [{ text: 'Reinstall version 4.2.' }],
      },
      { prices: 6, audit: sink },
    );
    const chain = 'chain-1';
    await team.runtime('triage').agent.run({ runId: chain, input: 'Charged twice, and the app crashes.', trigger: 'api', deadline: deadline() });
    await team.idle();
    await team.close();

    // intake: an output contract, a tool its cohort may not use, and two models in its route.
    const intake = defineAgent(
      agentInput({
        name: 'intake',
        cohort: 'intake',
        tools: [{ name: 'refund', description: 'Refund an order.', kind: 'http', url: 'http://127.0.0.1:9/refunds', sideEffect: 'write', input: { type: 'object', properties: { orderId: { type: 'string' } } } }],
        output: { schema: { type: 'object', required: ['category', 'dueBy'], properties: { category: { type: 'string' }, dueBy: { type: 'string' } } }, rules: [{ field: 'dueBy', check: 'future' }], maxRepairs: 0 },
      }),
    );
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const answer = (dueBy: string) => ({ text: JSON.stringify({ category: 'billing', dueBy }) });
    const primary: ScriptStep[] = [answer(future), answer('2020-01-01'), { toolUses: [{ name: 'refund', input: { orderId: 'ord_1' } }] }, answer(future)];
    const failing = () => new ModelError('server', 'internal error', 500);
    const backup: ScriptStep[] = [answer(future)];
    const primaryProvider = new ScriptedProvider('intake-primary', primary);
    const backupProvider = new ScriptedProvider('intake-backup', backup);
    const runtime = await assembleRuntime(
      {
        definition: intake,
        route: [
          { provider: 'bedrock', model: 'intake-primary' },
          { provider: 'bedrock', model: 'intake-backup' },
        ],
        prices: { 'intake-primary': PRICE, 'intake-backup': PRICE },
        toolPolicy: { deniedTools: ['refund'], allowWrite: true },
      },
      {
        audit: sink,
        metrics: new MemoryMetrics(),
        secret: async () => 'unused',
        providers: { bedrock: async (target) => (target.model === 'intake-primary' ? primaryProvider : backupProvider) },
      },
    );
    const runs = { answered: 'intake-answered', invalid: 'intake-invalid', denied: 'intake-denied', fallback: 'intake-fallback', unavailable: 'intake-unavailable' };
    const run = (runId: string) => runtime.agent.run({ runId, input: { ticket: runId }, trigger: 'job', deadline: deadline() });
    await run(runs.answered);
    await run(runs.invalid);
    await run(runs.denied);
    // The primary fails three times (its retries), the backup answers.
    primary.unshift(failing(), failing(), failing());
    await run(runs.fallback);
    // Both fail every try: no model available; the primary's circuit may open on the way.
    primary.unshift(failing(), failing(), failing());
    backup.unshift(failing(), failing(), failing());
    await run(runs.unavailable);
    await runtime.close();

    const folder = await download(client);
    const dates = memory.records.map((r) => r.startedAt.slice(0, 10)).sort();
    return { folder, records: memory.records, days: [dates[0]!, dates.at(-1)!], turnCost: TURN_COST, chain, runs };
  } finally {
    await s3.close();
  }
}

/** Every object of the bucket to a new folder, under its key. */
async function download(client: S3Client): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'audit-'));
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  for (const { Key } of listed.Contents ?? []) {
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
    await mkdir(dirname(join(folder, Key!)), { recursive: true });
    await writeFile(join(folder, Key!), await object.Body!.transformToString('utf8'));
  }
  return folder;
}
