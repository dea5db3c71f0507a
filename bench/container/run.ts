import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { containerContextDir } from '../../constructs/bundle/container-image';
import { runtimeBundleDir } from '../../constructs/bundle/runtime-bundle';
import { AGENT_CONFIG_ENV, encodeAgentConfig } from '../../contract/config/runtime-config';
import { CONTAINER_ENV, RUNTIME_ENV } from '../../contract/config/settings';
import { defineAgent } from '../../contract/definition';
import { loopbackAwsEnvironment, startSqsFake } from '../../test/__fixtures__/aws-fakes';
import { startBedrockFake } from '../../test/__fixtures__/model-fakes';
import { machine, median, writeSection } from '../report';

/**
 * The container host beside the Lambda handler, both from the built AWS runtime bundle, as they
 * are deployed: (1) the image's build context against the function's asset, (2) the time from
 * `node container.mjs` to its first `GET /ping` against importing the Lambda entry, and (3) the
 * time one queued job takes, on the same loopback fakes (Bedrock answering at once, DynamoDB in
 * dynalite, SQS), through the container consuming its queue against the handler given the same
 * message as an SQS event. Medians; runs interleaved.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const JOBS = Number(process.env.BENCH_JOBS ?? 40);
const TABLE = 'agent-state';

function files(dir: string): { count: number; bytes: number } {
  const all = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return { count: all.length, bytes: all.reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0) };
}

async function main(): Promise<void> {
  const bundle = runtimeBundleDir('aws');
  const context = containerContextDir('aws');
  const dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  const dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  await new DynamoDBClient({ endpoint: dynamoUrl, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }).send(
    new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }),
  );
  const sqs = await startSqsFake({ visibilityTimeoutSeconds: 60 });
  const bedrock = await startBedrockFake(() => ({ text: 'Done.' }));
  const definition = defineAgent({ name: 'research', description: 'Researches.', model: 'smart', instructions: 'Work.', placement: 'container', triggers: [{ type: 'queue' }], limits: { timeoutSeconds: 600 } });
  const queueUrl = `${sqs.url}/123456789012/research`;
  const env = {
    PATH: process.env.PATH!,
    ...loopbackAwsEnvironment({ bedrock: bedrock.url, s3: 'http://127.0.0.1:9', eventBridge: 'http://127.0.0.1:9', dynamoDb: dynamoUrl, sqs: sqs.url, secretsManager: 'http://127.0.0.1:9', anthropic: 'http://127.0.0.1:9' }),
    [AGENT_CONFIG_ENV]: encodeAgentConfig({ definition, route: [{ provider: 'bedrock', model: 'research-model' }], prices: {} }),
    [RUNTIME_ENV.stateTable]: TABLE,
    [RUNTIME_ENV.queueMaxReceives]: '3',
    PORT: '0',
    HOST: '127.0.0.1',
    [CONTAINER_ENV.queueWaitSeconds]: '1',
  };

  // (2) Start: `node container.mjs` until /ping answers, against importing the Lambda entry.
  const starts = { container: [] as number[], lambda: [] as number[] };
  for (let i = -2; i < RUNS; i++) {
    const started = performance.now();
    const host = await startHost(bundle, env);
    const ping = await fetch(`${host.url}/ping`);
    if (!ping.ok) throw new Error(`ping answered ${ping.status}`);
    if (i >= 0) starts.container.push(performance.now() - started);
    await host.stop();
    const forked = performance.now();
    const lambda = await startLambda(bundle, env);
    if (i >= 0) starts.lambda.push(performance.now() - forked);
    lambda.child.kill();
  }

  // (3) Per job: the container consuming its queue, against the handler given the same message.
  const host = await startHost(bundle, { ...env, [RUNTIME_ENV.queueUrl]: queueUrl });
  const lambda = await startLambda(bundle, env);
  const jobs = { container: [] as number[], lambda: [] as number[] };
  for (let i = -5; i < JOBS; i++) {
    const body = JSON.stringify({ input: `Job ${i}.` });
    let started = performance.now();
    const message = sqs.push(queueUrl, body, { jobId: `c-${i}` });
    await until(() => message.deleted);
    if (i >= 0) jobs.container.push(performance.now() - started);
    started = performance.now();
    const answer = (await lambda.invoke(sqsEvent(`l-${i}`, body))) as { batchItemFailures: unknown[] };
    if (answer.batchItemFailures.length) throw new Error('the handler failed the message');
    if (i >= 0) jobs.lambda.push(performance.now() - started);
  }
  await host.stop();
  lambda.child.kill();
  await Promise.all([sqs.close(), bedrock.close(), new Promise((r) => dynamo.close(r))]);

  const image = files(context);
  const asset = files(bundle);
  // On Azure the container is a bundle of its own; the Function App's package is the other bundle.
  const azureImage = files(containerContextDir('azure'));
  const azurePackage = files(runtimeBundleDir('azure'));
  const result = {
    context: image,
    asset,
    azure: { context: azureImage, package: azurePackage },
    startMs: { container: median(starts.container), lambda: median(starts.lambda) },
    jobMs: { container: median(jobs.container), lambda: median(jobs.lambda) },
  };
  writeSection(
    'container',
    `## Containers: the image, the start, a job (\`npm run bench:container\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.

The container host (stage 3) beside the Lambda handler, both from the built AWS runtime bundle as deployed, on
the same loopback fakes (Bedrock answering at once, DynamoDB in dynalite, SQS). *Baseline*: the function.
Starts: ${RUNS} of each after 2 warm-up; jobs: ${JOBS} of each after 5 warm-up, one at a time, interleaved; medians.

| | baseline (function) | container | |
|---|---:|---:|---|
| shipped files | ${asset.count} files, ${(asset.bytes / 1024).toFixed(0)} KiB (the Lambda asset) | ${image.count} files, ${(image.bytes / 1024).toFixed(0)} KiB (the image's build context) | the same bundle plus a Dockerfile and .dockerignore |
| shipped files, Azure | ${azurePackage.count} files, ${(azurePackage.bytes / 1024).toFixed(0)} KiB (the Function App package, unzipped) | ${azureImage.count} files, ${(azureImage.bytes / 1024).toFixed(0)} KiB (the image's build context) | the container's own bundle (with the Service Bus SDK), which the Function App package does not carry |
| start | ${result.startMs.lambda.toFixed(0)} ms from starting Node to \`index.mjs\` imported | ${result.startMs.container.toFixed(0)} ms from \`node container.mjs\` to a \`/ping\` answer | both include starting Node |
| one queued job | ${result.jobMs.lambda.toFixed(1)} ms (the handler given the SQS event) | ${result.jobMs.container.toFixed(1)} ms (message sent to message deleted) | ${(result.jobMs.container - result.jobMs.lambda).toFixed(1)} ms more: the container's receive and delete, which Lambda's event source does outside the function |

The image adds the pinned Node base image to the context above (not measured here: no Docker engine builds
it); a cold start from zero tasks is dominated by scaling and pulling, not by the entry (see
docs/architecture.md). A job's own work (its model turns, tool calls, writes) is the same in both hosts.`,
  );
  console.log(JSON.stringify(result));
}

interface Host {
  readonly url: string;
  stop(): Promise<void>;
}

/** `node container.mjs` from the bundle, as the image's CMD starts it. */
async function startHost(bundle: string, env: Record<string, string>): Promise<Host> {
  const child = spawn(process.execPath, [join(bundle, 'container.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let buffer = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`container exited with ${code}`)));
    child.stdout!.on('data', (chunk) => {
      buffer += String(chunk);
      const line = buffer.split('\n').find((l) => l.includes('"container host started"'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  child.removeAllListeners('exit');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { url: `http://127.0.0.1:${port}`, stop: () => (child.kill('SIGTERM'), exited) };
}

/** The Lambda entry in a process of its own (forked, for its IPC), imported from the bundle; ready once imported. */
async function startLambda(bundle: string, env: Record<string, string>): Promise<{ child: ChildProcess; invoke(event: unknown): Promise<unknown> }> {
  const worker = join(tmpdir(), 'serverless-agents-bench-lambda.mjs');
  writeFileSync(
    worker,
    `const { handler } = await import(${JSON.stringify(join(bundle, 'index.mjs'))});
const context = () => { const s = Date.now(); return { awsRequestId: 'r' + s, getRemainingTimeInMillis: () => 600000 - (Date.now() - s) }; };
process.on('message', async (m) => process.send({ id: m.id, result: await handler(m.event, context()) }));
process.send({ ready: true });`,
  );
  // No execArgv: the bench runs under tsx, which the worker must not load.
  const child = fork(worker, [], { env, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const waiting = new Map<number, (v: unknown) => void>();
  let next = 0;
  await new Promise<void>((resolve) => child.on('message', (m: { ready?: boolean; id?: number; result?: unknown }) => (m.ready ? resolve() : waiting.get(m.id!)?.(m.result))));
  return {
    child,
    invoke: (event) => new Promise((resolve) => (waiting.set(++next, resolve), child.send({ id: next, event }))),
  };
}

function sqsEvent(jobId: string, body: string) {
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId: jobId,
        receiptHandle: 'r',
        body,
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: 'bench', ApproximateFirstReceiveTimestamp: now },
        messageAttributes: { jobId: { dataType: 'String', stringValue: jobId, stringListValues: [], binaryListValues: [] } },
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:research',
        awsRegion: 'eu-west-1',
      },
    ],
  };
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r));
}

void main();
