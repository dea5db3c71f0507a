/**
 * One Lambda execution environment for tests: a process with its own environment that imports
 * the agent's real handler once and runs the events its parent sends it, one at a time, as Lambda
 * does. Started by `startLambdaWorker`.
 */
async function main(): Promise<void> {
  const { handler } = await import('../../functions/aws/handler.js');
  const context = (timeoutMs: number) => {
    const started = Date.now();
    return { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, awsRequestId: `req-${started}`, getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started) };
  };
  let queue = Promise.resolve();
  process.on('message', (message: { id: number; event: unknown; timeoutMs: number }) => {
    queue = queue.then(async () => {
      try {
        process.send!({ id: message.id, result: await handler(message.event, context(message.timeoutMs) as never) });
      } catch (e) {
        process.send!({ id: message.id, error: { name: (e as Error).name, message: (e as Error).message } });
      }
    });
  });
  process.send!({ ready: true });
}

void main();
