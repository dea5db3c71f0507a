import type { Context, SQSRecord } from 'aws-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { INVOCATION_KIND, type Invocation } from '../../contract/api/invocation';
import { CONTAINER_ENV, RUNTIME_ENV } from '../../contract/config/settings';
import { config, handler, runRecord } from '../aws/handler';
import type { InvocationTarget, QueueSource, Settlement } from './host';
import { containerSetting } from './start';

/**
 * The container host's AWS side: the agent's Lambda entry points, driven from HTTP and from the
 * agent's SQS queue instead of by Lambda. The run, its idempotency, job record, retries and
 * dead-lettering are the function's own; only the delivery differs.
 */

/** What the Lambda entry points read of their invocation: the time left, counted from now. */
function runContext(requestId: string, seconds = config.definition.limits.timeoutSeconds): Context {
  const started = Date.now();
  return {
    functionName: config.definition.name,
    awsRequestId: requestId,
    getRemainingTimeInMillis: () => started + seconds * 1000 - Date.now(),
  } as Context;
}

/** `POST /invocations`: the API's invocation route, with the same request checks and answers. */
const awsInvocations: InvocationTarget = {
  async invoke(body, request) {
    const invocation: Invocation = {
      kind: INVOCATION_KIND,
      route: 'invocations',
      agent: config.definition.name,
      path: '/invocations',
      requestId: request.requestId,
      requestTimeEpoch: Date.now(),
      // Reached only through AgentCore Runtime, which admitted the caller by its IAM signature.
      caller: 'bedrock-agentcore',
      roles: '',
      jobId: '',
      body,
    };
    const answer = (await handler(invocation, runContext(request.requestId))) as { statusCode: number; body: string };
    return { status: answer.statusCode, body: JSON.parse(answer.body) };
  },
};

/** Long polling: SQS's longest wait, so an idle container makes three requests a minute. */
const WAIT_SECONDS = 20;

export interface SqsQueueSourceOptions {
  /** @default a client from the environment */
  readonly client?: SQSClient;
  /** How long one receive waits for a message; also how long stopping may wait for it. @default 20 */
  readonly waitSeconds?: number;
}

/** The agent's SQS queue, consumed the way Lambda's event source mapping consumes it. */
export class SqsQueueSource implements QueueSource<Message> {
  private readonly client: SQSClient;
  private readonly waitSeconds: number;

  constructor(
    private readonly queueUrl: string,
    options: SqsQueueSourceOptions = {},
  ) {
    this.client = options.client ?? new SQSClient({});
    this.waitSeconds = options.waitSeconds ?? WAIT_SECONDS;
  }

  async receive(max: number): Promise<Message[]> {
    const { Messages } = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: this.waitSeconds,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp', 'ApproximateFirstReceiveTimestamp', 'SenderId'],
      }),
    );
    return Messages ?? [];
  }

  run(message: Message, stop: AbortSignal): Promise<unknown> {
    return runRecord(asRecord(message, this.queueUrl), runContext(message.MessageId ?? 'message'), undefined, stop);
  }

  async settle(message: Message, how: Settlement): Promise<void> {
    if (how === 'retry') return; // Back after the visibility timeout, as after a failed Lambda batch item.
    if (how === 'hand-back') {
      // A copy first, then the original: a crash between the two leaves a duplicate, which runs once.
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: message.Body ?? '',
          ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length && { MessageAttributes: message.MessageAttributes }),
        }),
      );
    }
    await this.client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.ReceiptHandle }));
  }

  id(message: Message): string {
    return message.MessageId ?? '(no id)';
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** A received message as Lambda's event source hands it to the function. */
function asRecord(message: Message, queueUrl: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, v]) => [name, { dataType: v.DataType ?? 'String', ...(v.StringValue !== undefined && { stringValue: v.StringValue }), stringListValues: [], binaryListValues: [] }]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueUrl,
    awsRegion: process.env.AWS_REGION ?? '',
  };
}

/** What the container serves: invocations when the agent has an `api` trigger, its queue when it has one. */
export function awsContainer(env: NodeJS.ProcessEnv = process.env): { readonly target?: InvocationTarget; readonly queue?: SqsQueueSource } {
  const queue = awsQueue(env);
  return { ...(config.definition.triggers.some((t) => t.type === 'api') && { target: awsInvocations }), ...(queue && { queue }) };
}

/** The queue this container consumes, when its agent has one. */
function awsQueue(env: NodeJS.ProcessEnv): SqsQueueSource | undefined {
  const url = env[RUNTIME_ENV.queueUrl];
  const wait = containerSetting(CONTAINER_ENV.queueWaitSeconds, env);
  return url ? new SqsQueueSource(url, { ...(wait !== undefined && { waitSeconds: wait }) }) : undefined;
}
