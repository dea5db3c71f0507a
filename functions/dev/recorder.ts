import type { Recording, Transcript } from '../local/transcript';

/**
 * Keeps each live run's answers, so a run seen in the console can be saved as a transcript that
 * `npm run agent -- --transcript` and tests replay: what a live agent's recording (its models and
 * tools, in order) gained since the agent's previous run ended is the run that ends now. Runs of one
 * agent side by side would share a recording: a laptop runs them one at a time.
 */
export class RunRecorder {
  /** Where each recording stood when its agent's last run ended. */
  private readonly marks = new WeakMap<Recording, { turns: number; toolResults: number }>();
  private readonly runs = new Map<string, Transcript>();

  /** `agent`'s run `runId` ended; `recording` is its agent's, if it runs live. */
  ended(agent: string, runId: string, recording: Recording | undefined): void {
    if (!recording) return;
    const mark = this.marks.get(recording) ?? { turns: 0, toolResults: 0 };
    this.marks.set(recording, { turns: recording.turns.length, toolResults: recording.toolResults.length });
    const turns = recording.turns.slice(mark.turns);
    if (!turns.length) return;
    this.runs.set(runId, { agent, recordedAt: new Date().toISOString(), note: `recorded by npm run dev from run ${runId}`, turns, toolResults: recording.toolResults.slice(mark.toolResults) });
  }

  /** The transcript of a live run, if one was recorded. */
  transcript(runId: string): Transcript | undefined {
    return this.runs.get(runId);
  }
}
