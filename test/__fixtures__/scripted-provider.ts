import type { ModelTargetConfig } from '../../contract/config/runtime-config';
import { ModelError, ZERO_USAGE, type ContentBlock, type ModelProvider, type ModelRequest, type ModelResponse, type StopReason, type Usage } from '../../functions/core/models/types';

/** A neutral model turn: what a scripted model answers. */
export interface Turn {
  readonly text?: string;
  readonly toolUses?: readonly { id?: string; name: string; input: unknown }[];
  readonly stopReason?: StopReason;
  readonly usage?: Partial<Usage>;
}

export type ScriptStep = Turn | ModelError | ((request: ModelRequest) => Turn | ModelError);

/**
 * An in-process model that answers from a script and records every request, for tests of the
 * loop's own logic. Provider wire formats are tested against loopback fakes with the real SDKs.
 */
export class ScriptedProvider implements ModelProvider {
  readonly provider = 'scripted';
  readonly requests: ModelRequest[] = [];

  constructor(
    readonly model: string,
    private readonly script: ScriptStep[],
  ) {}

  async complete(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(structuredClone(request));
    const next = this.script.shift();
    if (!next) throw new Error('the script ran out');
    const step = typeof next === 'function' ? next(request) : next;
    if (step instanceof ModelError) throw step;
    return toResponse(step, this.requests.length);
  }
}

export function toResponse(turn: Turn, n = 1): ModelResponse {
  const content: ContentBlock[] = [
    ...(turn.text !== undefined ? [{ type: 'text' as const, text: turn.text }] : []),
    ...(turn.toolUses ?? []).map((t, i) => ({ type: 'tool_use' as const, id: t.id ?? `call_${n}_${i}`, name: t.name, input: t.input })),
  ];
  const stopReason = turn.stopReason ?? (turn.toolUses?.length ? 'tool_use' : 'end_turn');
  return { content, stopReason, usage: { ...ZERO_USAGE, inputTokens: 100, outputTokens: 20, ...turn.usage }, raw: { scripted: turn } };
}

/** A factory that hands out scripted providers by model name. */
export function scriptedFactory(providers: Record<string, ModelProvider>) {
  return async (target: ModelTargetConfig) => {
    const provider = providers[target.model];
    if (!provider) throw new Error(`no scripted provider for ${target.model}`);
    return provider;
  };
}
