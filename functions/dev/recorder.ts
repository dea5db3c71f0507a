import type { ModelProvider } from '../core/models/types';
import type { ToolTransport } from '../core/tools/types';
import type { Transcript } from '../local/transcript';

interface Segment {
  readonly turns: Transcript['turns'][number][];
  readonly toolResults: Transcript['toolResults'][number][];
}

/**
 * Keeps what live models and tools answered, run by run, so a run seen in the console can be saved
 * as a transcript that `npm run agent -- --transcript` and tests replay. A run's first model call
 * (its request holds only the run's first message) starts its recording; its run record, when it
 * ends, names it. Runs of one agent recorded side by side would share a recording: a laptop runs
 * them one at a time.
 */
export class RunRecorder {
  private readonly current = new Map<string, Segment>();
  private readonly runs = new Map<string, Transcript>();

  /** `provider` of `agent`, recorded. */
  provider(agent: string, provider: ModelProvider): ModelProvider {
    return {
      get provider() {
        return provider.provider;
      },
      get model() {
        return provider.model;
      },
      complete: async (request, signal) => {
        if (request.messages.length === 1) this.current.set(agent, { turns: [], toolResults: [] });
        const response = await provider.complete(request, signal);
        this.segment(agent).turns.push({ content: response.content, stopReason: response.stopReason, usage: response.usage });
        return response;
      },
    };
  }

  /** `tools` of `agent`, their results recorded. */
  tools(agent: string, tools: ToolTransport): ToolTransport {
    return {
      call: async (tool, input, context) => {
        const content = await tools.call(tool, input, context);
        this.segment(agent).toolResults.push({ tool: tool.name, input, content });
        return content;
      },
    };
  }

  /** The run `runId` of `agent` ended: what was recorded since its first model call is its transcript. */
  ended(agent: string, runId: string): void {
    const segment = this.current.get(agent);
    if (!segment?.turns.length) return;
    this.runs.set(runId, { agent, recordedAt: new Date().toISOString(), note: `recorded by npm run dev from run ${runId}`, turns: [...segment.turns], toolResults: [...segment.toolResults] });
  }

  /** The transcript of a live run, if one was recorded. */
  transcript(runId: string): Transcript | undefined {
    return this.runs.get(runId);
  }

  private segment(agent: string): Segment {
    let segment = this.current.get(agent);
    if (!segment) this.current.set(agent, (segment = { turns: [], toolResults: [] }));
    return segment;
  }
}
