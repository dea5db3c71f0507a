import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

/** Where every benchmark writes its results: one section each, replaced on each run. */
export const BENCHMARKS_MD = join(__dirname, '..', 'docs', 'benchmarks.md');

export function machine(): string {
  return `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The repository root, where the pinned CLIs live. */
export const ROOT = join(__dirname, '..');

/** One synth measurement: the CLI's wall time, the app's own synth time and peak memory, its resources. */
export interface SynthSample {
  cliMs: number;
  synthMs: number;
  peakRssMb: number;
  resources: number;
}

/** Runs of each synth measurement (`BENCH_RUNS`), and the fleet sizes both synth benchmarks use. */
export const SYNTH_RUNS = Number(process.env.BENCH_RUNS ?? 3);
export const AGENT_COUNTS = [1, 10, 25] as const;

/** Measures SYNTH_RUNS times, each in a fresh output folder it then removes, and keeps each field's median. */
export function medianSample<T extends Record<string, number>>(prefix: string, once: (outdir: string) => T): T {
  const samples = Array.from({ length: SYNTH_RUNS }, () => {
    const outdir = mkdtempSync(join(tmpdir(), prefix));
    try {
      return once(outdir);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
  return Object.fromEntries(Object.keys(samples[0]!).map((k) => [k, median(samples.map((s) => s[k]!))])) as T;
}

/** Replaces the section between `<!-- bench:NAME -->` markers, or appends it. */
export function writeSection(name: string, body: string): void {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  let doc = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, 'utf8') : '# Benchmarks\n\nWritten by the `bench:*` npm scripts; each section is replaced when its benchmark runs.\n';
  const at = doc.indexOf(start);
  doc = at >= 0 ? doc.slice(0, at) + section + doc.slice(doc.indexOf(end) + end.length) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(BENCHMARKS_MD, doc);
}
