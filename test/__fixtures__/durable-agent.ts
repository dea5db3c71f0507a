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
      // Order ord_large comes back with a receipt larger than a checkpoint holds.
      const large = (requests.at(-1)!.body as { orderId?: string }).orderId === 'ord_large';
      res.end(JSON.stringify({ refunded: true, ...(large && { receipt: LARGE_RECEIPT }) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, effects, close: () => (server.closeAllConnections(), server.close()) };
}

/**
 * The receipt of order ord_large: the runtime passes an HTTP tool's first 50,000 characters on,
 * so six refunds of it in one turn make a step result (about 300 KB) larger than a Lambda
 * checkpoint's 256 KB.
 */
export const LARGE_RECEIPT = 'r'.repeat(60_000);
export const LARGE_REFUNDS = 6;
/** A model turn that refunds ord_large LARGE_REFUNDS times at once. */
export const largeRefunds = { toolUses: Array.from({ length: LARGE_REFUNDS }, (_, i) => ({ name: 'issue_refund', input: { orderId: 'ord_large', amount: i + 1 } })) };

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
