import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../constructs/definition/encoding';

/** What a synthesized cloud assembly holds, in the terms a reviewer asks about. */
export interface AssemblySummary {
  readonly stacks: { name: string; resources: number; agents: { name: string; cohort: string; model: string }[] }[];
  /** Runtime bundles the stacks reference (folders holding index.mjs): one, whatever the number of agents. */
  readonly runtimeAssets: { path: string; bytes: number }[];
  readonly openFindings: number;
  readonly acknowledgedFindings: number;
  /** Acknowledgments without a written reason: must be zero. */
  readonly unexplained: number;
}

interface Template {
  Resources: Record<string, { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }>;
}

export function summarizeAssembly(outdir: string): AssemblySummary {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string; file?: string } }>;
  };
  const stacks = Object.entries(manifest.artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([name, a]) => {
      const template = JSON.parse(readFileSync(join(outdir, a.properties!.templateFile!), 'utf8')) as Template;
      const agents = Object.values(template.Resources)
        .map((r) => r.Properties?.Environment?.Variables?.[AGENT_CONFIG_ENV])
        .filter((v): v is string => typeof v === 'string')
        .map((encoded) => {
          const { definition, route } = decodeAgentConfig(encoded);
          const model = typeof definition.model === 'string' ? definition.model : `${definition.model.provider}:${definition.model.model}`;
          return { name: definition.name, cohort: definition.cohort, model: `${model} → ${route.map((t) => t.model).join(', ')}` };
        });
      return { name, resources: Object.keys(template.Resources).length, agents };
    });

  // Only assets the stacks reference count: cdk.out keeps assets of earlier synths.
  const referenced = new Set(
    Object.values(manifest.artifacts)
      .filter((a) => a.type === 'cdk:asset-manifest')
      .flatMap((a) => {
        const assets = JSON.parse(readFileSync(join(outdir, a.properties!.file!), 'utf8')) as { files: Record<string, { source: { path: string } }> };
        return Object.values(assets.files).map((f) => f.source.path);
      }),
  );
  const runtimeAssets = [...referenced]
    .filter((f) => statSync(join(outdir, f), { throwIfNoEntry: false })?.isDirectory() && readdirSync(join(outdir, f)).includes('index.mjs'))
    .map((f) => ({ path: f, bytes: directoryBytes(join(outdir, f)) }));

  let openFindings = 0;
  let acknowledgedFindings = 0;
  let unexplained = 0;
  try {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: unknown[]; suppressedViolations?: { reason?: string }[] }[];
    };
    for (const plugin of report.pluginReports) {
      openFindings += plugin.violations.length;
      acknowledgedFindings += plugin.suppressedViolations?.length ?? 0;
      unexplained += (plugin.suppressedViolations ?? []).filter((v) => !v.reason?.trim()).length;
    }
  } catch {
    // No report: no validation plugin reported anything.
  }
  return { stacks, runtimeAssets, openFindings, acknowledgedFindings, unexplained };
}

function directoryBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0);
}

export function formatSummary(s: AssemblySummary, elapsedMs: number): string {
  const width = Math.max(...s.stacks.map((st) => st.name.length), 5);
  const lines = [
    '',
    `serverless-agents: ${s.stacks.length} AWS stack(s) synthesized in ${(elapsedMs / 1000).toFixed(1)} s`,
    `  ${'stack'.padEnd(width)}  resources  agents`,
    ...s.stacks.map((st) => `  ${st.name.padEnd(width)}  ${String(st.resources).padStart(9)}  ${st.agents.map((a) => `${a.name} [${a.cohort}] ${a.model}`).join('; ') || '-'}`),
    `  runtime bundles in cdk.out: ${s.runtimeAssets.length} (${s.runtimeAssets.map((a) => `${(a.bytes / 1024).toFixed(0)} KiB`).join(', ')})`,
    `  security findings: ${s.openFindings} open, ${s.acknowledgedFindings} acknowledged with a reason${s.unexplained ? `, ${s.unexplained} WITHOUT a reason` : ''}`,
  ];
  return lines.join('\n');
}
