import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, type PutItemCommandInput } from '@aws-sdk/client-dynamodb';
import { taskEventType, type AgentTask, type TaskResult } from '../../contract/chain/envelope';
import type { AwsPeers } from '../../contract/config/settings';
import type { AgentDelegates } from '../core/chain/chain';
import { packTask, type TaskInbox } from '../core/chain/inbox';
import { PutEventsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { AuditReader, AuditRecord, AuditSink } from '../core/audit/records';
import { AGENT_EVENT_SOURCE, type AgentEventDetail, type AgentEventType } from '../../contract/events/agent-events';
import type { EventPublisher } from '../core/events/events';
import { JOB_RETENTION_DAYS } from '../../contract/jobs/job-record';
import { STATE_KEYS, STATE_TABLE } from '../../contract/state/table';
import type { JobRecord, JobStore } from '../core/jobs/jobs';
import type { ProviderLoaders } from '../core/models/providers';
import type { SkillStore } from '../core/skills/store';
import type { FunctionInvoker } from '../core/tools/types';
import { auditObjects } from '../entry/audit';

/**
 * The AWS side of the runtime's ports: thin translations to the SDK clients, nothing more. Each
 * client is created once per execution environment and reused by warm invocations.
 */

/** Skills from the SkillBucket: `index.json`, `<skill>/SKILL.md`, ... */
export class S3SkillStore implements SkillStore {
  constructor(
    private readonly bucket: string,
    private readonly client: S3Client = new S3Client({}),
  ) {}

  async read(path: string): Promise<string | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: path }));
      return await object.Body!.transformToString('utf8');
    } catch (e) {
      if (e instanceof NoSuchKey || (e as Error).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }
}

/** Audit records in the AuditBucket, laid out for query engines (see auditObject), created and never replaced. */
export class S3AuditSink implements AuditSink {
  constructor(
    private readonly bucket: string,
    private readonly client: S3Client = new S3Client({}),
  ) {}

  async write(records: readonly AuditRecord[]): Promise<void> {
    for (const object of auditObjects(records)) {
      try {
        // Create-only: an attempt's object is written once and never replaced.
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: object.key, Body: object.body, ContentType: 'application/x-ndjson', IfNoneMatch: '*' }));
      } catch (e) {
        // The same attempt's records already stored (a write retried after its answer was lost).
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412) throw e;
      }
    }
  }
}

/** Reads the AuditBucket back, for operators' tools (readChain); agents themselves can read nothing there. */
export class S3AuditReader implements AuditReader {
  constructor(
    private readonly bucket: string,
    private readonly client: S3Client = new S3Client({}),
  ) {}

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token && { ContinuationToken: token }) }));
      keys.push(...(page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async get(key: string): Promise<string | undefined> {
    return new S3SkillStore(this.bucket, this.client).read(key);
  }
}

/** Agent events on the AgentBus. */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly busName: string,
    private readonly client: EventBridgeClient = new EventBridgeClient({}),
  ) {}

  async publish(type: AgentEventType, detail: AgentEventDetail): Promise<void> {
    const result = await this.client.send(
      new PutEventsCommand({ Entries: [{ EventBusName: this.busName, Source: AGENT_EVENT_SOURCE, DetailType: type, Detail: JSON.stringify(detail) }] }),
    );
    if (result.FailedEntryCount) throw new Error(`the bus refused the ${type} event: ${result.Entries?.[0]?.ErrorMessage ?? 'unknown error'}`);
  }
}

/**
 * Tasks for other agents on the AgentBus, typed by their target (`handoff.to.NAME`,
 * `delegation.to.NAME`): the sender's grant names exactly those types, and each target's rule
 * feeds its own queue.
 */
export class EventBridgeTaskSender {
  constructor(
    private readonly busName: string,
    private readonly client: EventBridgeClient = new EventBridgeClient({}),
  ) {}

  async send(task: AgentTask): Promise<void> {
    if (task.kind === 'call') throw new Error('a call goes straight to its agent, not over the bus');
    const type = taskEventType(task.kind, task.to);
    const result = await this.client.send(new PutEventsCommand({ Entries: [{ EventBusName: this.busName, Source: AGENT_EVENT_SOURCE, DetailType: type, Detail: JSON.stringify(task) }] }));
    if (result.FailedEntryCount) throw new Error(`the bus refused the ${type} event: ${result.Entries?.[0]?.ErrorMessage ?? 'unknown error'}`);
  }
}

/**
 * Task inputs too large for a message, in the state table under the target's inbox prefix, in parts
 * DynamoDB items can hold. With `STATE_KEYS.durable`, the same for what a durable run keeps for
 * itself, under a prefix only the agent may write.
 */
export class DynamoTaskInbox implements TaskInbox {
  constructor(
    private readonly table: string,
    private readonly client: DynamoDBClient = new DynamoDBClient({}),
    private readonly keyOf: (agent: string, key: string, part: number) => string = STATE_KEYS.inbox,
    private readonly retentionSeconds = JOB_RETENTION_DAYS * 86_400,
  ) {}

  async put(agent: string, key: string, text: string): Promise<void> {
    // 100,000 UTF-16 units are at most 300 KB of UTF-8: inside DynamoDB's 400 KB item.
    const parts = Math.max(1, Math.ceil(text.length / INBOX_PART_CHARS));
    const expiration = { N: String(Math.floor(Date.now() / 1000) + this.retentionSeconds) };
    for (let i = parts - 1; i >= 0; i--) {
      // The first part, which names the count, is written last: a reader finds all or nothing.
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            [STATE_TABLE.partitionKey]: { S: this.keyOf(agent, key, i) },
            [STATE_TABLE.record]: { S: text.slice(i * INBOX_PART_CHARS, (i + 1) * INBOX_PART_CHARS) },
            ...(i === 0 && { parts: { N: String(parts) } }),
            [STATE_TABLE.expiration]: expiration,
          },
        }),
      );
    }
  }

  async get(agent: string, key: string): Promise<string | undefined> {
    const read = async (part: number) =>
      (await this.client.send(new GetItemCommand({ TableName: this.table, Key: { [STATE_TABLE.partitionKey]: { S: this.keyOf(agent, key, part) } }, ConsistentRead: true }))).Item;
    const first = await read(0);
    if (!first) return undefined;
    const parts = Number(first.parts?.N ?? 1);
    const rest = await Promise.all(Array.from({ length: parts - 1 }, (_, i) => read(i + 1)));
    if (rest.some((item) => !item)) throw new Error(`the input ${key} in agent ${agent}'s inbox is missing a part`);
    return [first, ...rest].map((item) => item![STATE_TABLE.record]!.S!).join('');
  }
}

const INBOX_PART_CHARS = 100_000;

/**
 * How an agent on Lambda reaches the agents it delegates to: a call invokes the target's function
 * with the task (Lambda's 6 MB payload takes any input), a job or hand-off goes over the bus (by
 * reference through the inbox when too large), and a job's result is read from the target's job
 * records.
 */
export function awsDelegates(peers: AwsPeers, bus: EventBridgeTaskSender | undefined, table: string | undefined, inbox: TaskInbox | undefined, invoker: LambdaInvoker): AgentDelegates {
  const stores = new Map<string, DynamoJobStore>();
  return {
    call: async (task, signal) => {
      const peer = peers[task.to];
      if (!peer) throw new Error(`agent ${task.to} is not one this agent may call`);
      return (await invoker.invoke(peer.function, { agentTask: task }, signal)) as TaskResult;
    },
    send: async (task) => {
      if (!bus) throw new Error(`agent ${task.from} has no bus to send agent ${task.to} a task over`);
      await bus.send(await packTask(task, inbox));
    },
    status: async (agent, runId) => {
      if (!table) throw new Error('no state table to read the job from');
      let store = stores.get(agent);
      if (!store) stores.set(agent, (store = new DynamoJobStore(table, agent)));
      return store.get(runId);
    },
  };
}

/** Job status in the agent state table, under the agent's own key prefix. */
export class DynamoJobStore implements JobStore {
  constructor(
    private readonly table: string,
    private readonly agent: string,
    private readonly client: DynamoDBClient = new DynamoDBClient({}),
    private readonly retentionSeconds = JOB_RETENTION_DAYS * 86_400,
  ) {}

  async put(record: JobRecord): Promise<void> {
    await this.client.send(new PutItemCommand(this.item(record)));
  }

  async create(record: JobRecord): Promise<boolean> {
    return this.putIf(record, { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': STATE_TABLE.partitionKey } });
  }

  async replace(expected: JobRecord, next: JobRecord): Promise<boolean> {
    // The record attribute is the JSON `get` parsed, so the text compares exactly.
    return this.putIf(next, { ConditionExpression: '#record = :expected', ExpressionAttributeNames: { '#record': STATE_TABLE.record }, ExpressionAttributeValues: { ':expected': { S: JSON.stringify(expected) } } });
  }

  /** A conditional put: false when the condition fails. */
  private async putIf(record: JobRecord, condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>): Promise<boolean> {
    try {
      await this.client.send(new PutItemCommand({ ...this.item(record), ...condition }));
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }

  private item(record: JobRecord) {
    return {
      TableName: this.table,
      Item: {
        [STATE_TABLE.partitionKey]: { S: STATE_KEYS.job(record.agent, record.jobId) },
        status: { S: record.status },
        updatedAt: { S: record.updatedAt },
        [STATE_TABLE.record]: { S: JSON.stringify(record) },
        [STATE_TABLE.expiration]: { N: String(Math.floor(Date.now() / 1000) + this.retentionSeconds) },
      },
    };
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: { [STATE_TABLE.partitionKey]: { S: STATE_KEYS.job(this.agent, jobId) } }, ConsistentRead: true }),
    );
    const text = Item?.[STATE_TABLE.record]?.S;
    return text === undefined ? undefined : (JSON.parse(text) as JobRecord);
  }
}

/** Function tools through the Lambda Invoke API; the SDK is loaded only for agents that have one. */
export class LambdaInvoker implements FunctionInvoker {
  private client?: LambdaClient;

  async invoke(functionName: string, payload: unknown, signal?: AbortSignal): Promise<unknown> {
    const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
    this.client ??= new LambdaClient({});
    const result = await this.client.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }), { ...(signal && { abortSignal: signal }) });
    const text = result.Payload ? Buffer.from(result.Payload).toString('utf8') : '';
    if (result.FunctionError) throw new Error(`${functionName} failed: ${text}`);
    return text ? JSON.parse(text) : null;
  }
}

/** Bedrock, which only AWS offers: the SDK loads with the first Bedrock call. */
/**
 * Bedrock, in `region`; a model with an application inference profile in `profiles` (by model id)
 * is called through it, so its spend is billed under the profile's cohort tag.
 */
export function awsProviders(region: string, profiles: Readonly<Record<string, string>> = {}): ProviderLoaders {
  return {
    bedrock: async (target) => {
      const { BedrockProvider } = await import('./bedrock.js');
      return new BedrockProvider({ model: target.model, region, ...(profiles[target.model] && { modelId: profiles[target.model] }) });
    },
  };
}

/** Secrets Manager values by name, fetched once per execution environment. */
export function secretsManager(): (name: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (name) => {
    let value = cache.get(name);
    if (!value) {
      value = import('@aws-sdk/client-secrets-manager').then(async ({ SecretsManagerClient, GetSecretValueCommand }) => {
        const result = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: name }));
        if (result.SecretString === undefined) throw new Error(`secret ${name} has no string value`);
        return result.SecretString;
      });
      cache.set(name, value);
      value.catch(() => cache.delete(name));
    }
    return value;
  };
}
