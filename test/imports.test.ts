import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { projectSources } from './helpers';

/**
 * The layers of the code and what each may import. The contract is shared by both sides and
 * imports neither; the runtime never imports the constructs (so no CDK enters a bundle); the
 * runtime's core imports no cloud SDK; the constructs never import runtime code (they deploy its
 * bundle); each cloud's constructs stay out of the other's packages.
 */
interface Rule {
  readonly layer: string;
  /** Project folders this layer may import from. */
  readonly folders: readonly string[];
  /** Packages this layer must not import (a prefix ending in "/" covers a scope). */
  readonly forbiddenPackages?: readonly string[];
  /** When set, the only packages this layer may import besides Node's own. */
  readonly onlyPackages?: readonly string[];
}

const CDK = ['aws-cdk-lib', 'constructs', 'cdk-nag', 'cdktf', '@cdktf/', 'cdktn', '@cdktn/', 'esbuild'];
const CLOUD_SDKS = ['@aws-sdk/', '@smithy/', '@aws-lambda-powertools/', 'aws-lambda', '@azure/'];

const RULES: readonly Rule[] = [
  // Ajv checks definitions' JSON Schemas against the meta-schema at synth; the runtime never loads it for that.
  { layer: 'contract/', folders: ['contract/'], onlyPackages: ['zod', 'yaml', 'ajv'] },
  { layer: 'functions/core/', folders: ['contract/', 'functions/core/'], forbiddenPackages: [...CDK, ...CLOUD_SDKS] },
  { layer: 'functions/entry/', folders: ['contract/', 'functions/core/', 'functions/entry/'], forbiddenPackages: [...CDK, ...CLOUD_SDKS] },
  // What a delivery pipeline runs against a deployed stage: no runtime, no CDK, no Azure SDK.
  { layer: 'functions/delivery/', folders: ['contract/', 'functions/delivery/'], forbiddenPackages: [...CDK, '@azure/'] },
  { layer: 'functions/local/', folders: ['contract/', 'functions/core/', 'functions/entry/', 'functions/local/'], forbiddenPackages: [...CDK, ...CLOUD_SDKS] },
  // The laptop's harness (npm run dev, npm run agent): the local pieces, and Bedrock through the AWS adapters for live runs.
  { layer: 'functions/dev/', folders: ['contract/', 'functions/core/', 'functions/entry/', 'functions/local/', 'functions/aws/', 'functions/dev/'], forbiddenPackages: [...CDK, '@azure/'] },
  { layer: 'functions/aws/', folders: ['contract/', 'functions/core/', 'functions/entry/', 'functions/aws/'], forbiddenPackages: [...CDK, '@azure/'] },
  { layer: 'functions/azure/', folders: ['contract/', 'functions/core/', 'functions/entry/', 'functions/azure/'], forbiddenPackages: [...CDK, '@aws-sdk/', '@aws-lambda-powertools/'] },
  { layer: 'constructs/bundle/', folders: ['contract/', 'constructs/bundle/'], forbiddenPackages: ['aws-cdk-lib', 'cdktf', '@cdktf/', ...CLOUD_SDKS] },
  { layer: 'constructs/package/', folders: ['constructs/package/'], onlyPackages: [] },
  { layer: 'constructs/aws/', folders: ['contract/', 'constructs/aws/', 'constructs/bundle/', 'constructs/package/'], forbiddenPackages: ['cdktf', '@cdktf/', ...CLOUD_SDKS] },
  { layer: 'constructs/azure/', folders: ['contract/', 'constructs/azure/', 'constructs/bundle/', 'constructs/package/'], forbiddenPackages: ['aws-cdk-lib', 'cdk-nag', ...CLOUD_SDKS] },
];

/** Every module a source file imports, statically, dynamically or with require. */
function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(specifier);
const packageOf = (specifier: string) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
const matches = (pkg: string, patterns: readonly string[]) => patterns.some((p) => (p.endsWith('/') ? pkg.startsWith(p) : pkg === p));

/** Every import of `file` that its layer's rule forbids, as `file: specifier (why)`. */
function violations(file: string, text: string): string[] {
  const rule = RULES.filter((r) => file.startsWith(r.layer)).sort((a, b) => b.layer.length - a.layer.length)[0];
  if (!rule) return [];
  return importsOf(text).flatMap((specifier) => {
    if (specifier.startsWith('.')) {
      const target = normalize(join(dirname(file), specifier));
      return rule.folders.some((f) => target.startsWith(f)) ? [] : [`${file}: ${specifier} (${rule.layer} may import from ${rule.folders.join(', ')} only)`];
    }
    if (isBuiltin(specifier)) return [];
    const pkg = packageOf(specifier);
    if (rule.onlyPackages && !rule.onlyPackages.includes(pkg)) return [`${file}: ${specifier} (${rule.layer} may import ${[...rule.onlyPackages, "Node's modules"].join(', ')} only)`];
    if (rule.forbiddenPackages && matches(pkg, rule.forbiddenPackages)) return [`${file}: ${specifier} (${rule.layer} must not import ${pkg})`];
    return [];
  });
}

describe('the import rules between the code layers', () => {
  it('hold for every source file', () => {
    const sources = projectSources();
    assert.ok(sources.filter((s) => RULES.some((r) => s.path.startsWith(r.layer))).length > 60, 'the rules see the layered sources');
    assert.deepEqual(sources.flatMap((s) => violations(s.path, s.text)), []);
  });

  it('catch each kind of breach (the check can fail)', () => {
    assert.deepEqual(violations('functions/core/agent/x.ts', "import { Stack } from 'aws-cdk-lib';"), ['functions/core/agent/x.ts: aws-cdk-lib (functions/core/ must not import aws-cdk-lib)']);
    assert.deepEqual(violations('functions/core/models/x.ts', "const s3 = await import('@aws-sdk/client-s3');"), ['functions/core/models/x.ts: @aws-sdk/client-s3 (functions/core/ must not import @aws-sdk/client-s3)']);
    assert.match(violations('functions/core/skills/x.ts', "import { AgentApi } from '../../../constructs/aws/agent-api';")[0]!, /may import from contract\/, functions\/core\/ only/);
    assert.match(violations('functions/aws/x.ts', "import { x } from '../../constructs/aws';")[0]!, /functions\/aws\/ may import from/);
    assert.match(violations('constructs/aws/x.ts', "import { handler } from '../../functions/aws/handler';")[0]!, /constructs\/aws\/ may import from/);
    assert.match(violations('constructs/azure/x.ts', "import { Stack } from 'aws-cdk-lib';")[0]!, /must not import aws-cdk-lib/);
    assert.match(violations('contract/x/y.ts', "import { Construct } from 'constructs';")[0]!, /contract\/ may import zod, yaml, ajv, Node's modules only/);
    assert.match(violations('contract/x/y.ts', "const c = require('../../constructs/aws');")[0]!, /contract\/ may import from contract\/ only/);
    assert.deepEqual(violations('contract/x/y.ts', "import { z } from 'zod';\nimport { readFileSync } from 'node:fs';"), []);
  });
});

/** What `serverless-agents/aws` and `serverless-agents/azure` export, by name (values and types). */
function publicNames(index: string): Set<string> {
  const program = ts.createProgram([index], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(index)!)!;
  return new Set(checker.getExportsOfModule(module).map((s) => s.name));
}

/**
 * The names a stack imports from a cloud's constructs (`engine` is the CDK for Terraform classes
 * themselves, which a team imports from cdktf and the provider), as `file: name` lines.
 */
function constructImports(file: string, text: string): { cloud: 'aws' | 'azure'; name: string; at: string }[] {
  const found: { cloud: 'aws' | 'azure'; name: string; at: string }[] = [];
  for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'((?:\.\.\/)+constructs\/(aws|azure)(?:\/([\w-]+))?)'/g)) {
    if (m[4] === 'engine') continue;
    for (const part of m[1]!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!;
      if (name) found.push({ cloud: m[3] as 'aws' | 'azure', name, at: `${file}: ${name} from ${m[2]}` });
    }
  }
  return found;
}

describe('the example stacks', () => {
  it('are built only from what the package exports', () => {
    const exported = { aws: publicNames('constructs/aws/index.ts'), azure: publicNames('constructs/azure/index.ts') };
    const imports = projectSources()
      .filter((s) => s.path.startsWith('stacks/'))
      .flatMap((s) => constructImports(s.path, s.text));
    assert.ok(imports.filter((i) => i.cloud === 'azure').length > 10 && imports.filter((i) => i.cloud === 'aws').length > 10, 'the check sees the stacks');
    assert.deepEqual(
      imports.filter((i) => !exported[i.cloud].has(i.name)).map((i) => i.at),
      [],
    );
  });

  it('would name a stack that reaches past the package (the check can fail)', () => {
    const exported = publicNames('constructs/azure/index.ts');
    const imports = constructImports('stacks/x.ts', "import { assignRole, globalName } from '../../constructs/azure/defaults';");
    assert.deepEqual(imports.filter((i) => !exported.has(i.name)).map((i) => i.at), ['stacks/x.ts: assignRole from ../../constructs/azure/defaults']);
  });
});
