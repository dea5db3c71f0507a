import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineAgent, type AgentDefinition } from '../../contract/definition';
import { agentInput } from '../helpers';

/** A loopback refund service that counts every request and the effects it applied, per Idempotency-Key. */
export interface RefundService {
  readonly url: string;
  readonly requests: { readonly key: string | undefined; readonly body: unknown }[];
  readonly effects: Set<string>;
  close(): void;
}

export async function startRefundService(): Promise<RefundService> {
  const requests: { key: string | undefined; body: unknown }[] = [];
  const effects = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const key = req.headers['idempotency-key'] as string | undefined;
      requests.push({ key, body: JSON.parse(body || '{}') });
      if (key) effects.add(key);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ refunded: true }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, effects, close: () => (server.closeAllConnections(), server.close()) };
}

/** A durable agent whose refund tool (a write) needs a finance lead's approval. */
export function durableDefinition(refundsUrl: string, approvalTimeoutSeconds = 3600): AgentDefinition {
  return defineAgent(
    agentInput({
      durable: true,
      limits: { timeoutSeconds: 7200 },
      tools: [
        {
          name: 'issue_refund',
          description: 'Refund an order.',
          kind: 'http',
          url: `${refundsUrl}/refunds`,
          sideEffect: 'write',
          input: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' }, amount: { type: 'number' } } },
          approval: { approvers: ['role:finance-lead'], timeoutSeconds: approvalTimeoutSeconds },
        },
      ],
    }),
  );
}
