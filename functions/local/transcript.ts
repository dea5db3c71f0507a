import type { ModelProvider, ModelRequest, ModelResponse } from '../core/models/types';
import type { ToolContext, ToolTransport } from '../core/tools/types';
import type { AgentTool } from '../../contract/definition/schema';

/**
 * A run's model answers and tool results, in order: recorded from a live run, replayed offline.
 * Replay hands back the recorded answers whatever is asked, so it shows the agent's plumbing
 * (skills, tools, validation, audit) without credentials or a network.
 */
export interface Transcript {
  readonly agent: string;
  readonly recordedAt: string;
  readonly note?: string;
  readonly turns: Omit<ModelResponse, 'raw'>[];
  readonly toolResults: { readonly tool: string; readonly input: unknown; readonly content: string }[];
}

export class ReplayProvider implements ModelProvider {
  readonly provider = 'transcript';
  private next = 0;

  /**
   * With `tools`, a request holding only the run's first message starts the transcript over, for
   * the model and the tools alike: every run of a long-lived process (the dev server) replays it
   * from its start. Runs replayed side by side would share one place in it.
   */
  constructor(
    readonly model: string,
    private readonly transcript: Transcript,
    private readonly tools?: ReplayTools,
  ) {}

  async complete(request: ModelRequest): Promise<ModelResponse> {
    if (this.tools && request.messages.length === 1) {
      this.next = 0;
      this.tools.restart();
    }
    const turn = this.transcript.turns[this.next++];
    if (!turn) throw new Error(`the transcript has ${this.transcript.turns.length} model turns and the run asked for more`);
    return { ...turn, raw: { replayed: this.next } };
  }
}

/** Answers tool calls from the transcript, in order, checking each is the call that was recorded. */
export class ReplayTools implements ToolTransport {
  private next = 0;

  constructor(private readonly transcript: Transcript) {}

  /** From the transcript's first tool result again: a new run. */
  restart(): void {
    this.next = 0;
  }

  async call(tool: AgentTool, input: unknown, _context: ToolContext): Promise<string> {
    const recorded = this.transcript.toolResults[this.next++];
    if (!recorded || recorded.tool !== tool.name) throw new Error(`the transcript did not record a call to ${tool.name} here`);
    void input;
    return recorded.content;
  }
}

/** What live models and tools answered, in the order they answered: a transcript's turns and tool results as they grow. */
export interface Recording {
  readonly turns: Transcript['turns'][number][];
  readonly toolResults: Transcript['toolResults'][number][];
}

/** Wraps a live provider and adds what it answers to `recording`. */
export class RecordingProvider implements ModelProvider {
  constructor(
    private readonly inner: ModelProvider,
    private readonly recording: Recording,
  ) {}

  get provider() {
    return this.inner.provider;
  }

  get model() {
    return this.inner.model;
  }

  async complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse> {
    const response = await this.inner.complete(request, signal);
    this.recording.turns.push({ content: response.content, stopReason: response.stopReason, usage: response.usage });
    return response;
  }
}

/** Wraps a live tool transport and adds what it returns to `recording`. */
export class RecordingTools implements ToolTransport {
  constructor(
    private readonly inner: ToolTransport,
    private readonly recording: Recording,
  ) {}

  async call(tool: AgentTool, input: unknown, context: ToolContext): Promise<string> {
    const content = await this.inner.call(tool, input, context);
    this.recording.toolResults.push({ tool: tool.name, input, content });
    return content;
  }
}
