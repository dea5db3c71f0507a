import { defineAgent, type AgentDefinition } from '../../contract/definition';

/** N distinct agents shaped like the example: API and job triggers, two skills, a tool, a model alias. */
export function fleet(count: number): AgentDefinition[] {
  return Array.from({ length: count }, (_, i) =>
    defineAgent({
      name: `agent-${String(i).padStart(3, '0')}`,
      description: `Benchmark agent ${i}: triages tickets for team ${i}.`,
      model: 'smart',
      cohort: 'support',
      instructions: `You are agent ${i}. Triage each ticket with the ticket-triage skill; follow refund-requests for refunds.`,
      skills: ['ticket-triage', 'refund-requests'],
      tools: [{ name: 'lookup_order', description: 'Look up an order.', kind: 'http', url: 'https://orders.example.com/lookup', input: { type: 'object', properties: { orderId: { type: 'string' } } } }],
      triggers: [{ type: 'api' }, { type: 'job' }],
    }),
  );
}
