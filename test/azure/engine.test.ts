import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { projectSources } from '../helpers';

const sources = projectSources();
const ENGINE = 'constructs/azure/engine.ts';
const importsOf = (text: string) => [...text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);

describe('the Azure engine module', () => {
  it('is the only file that imports CDK for Terraform or the azurerm provider', () => {
    const offenders = sources.filter((f) => f.path !== ENGINE && importsOf(f.text).some((s) => s === 'cdktf' || s.startsWith('@cdktf/')));
    assert.deepEqual(offenders.map((f) => f.path), []);
  });

  it('imports provider classes by deep path, never the barrel', () => {
    const provider = importsOf(sources.find((f) => f.path === ENGINE)!.text).filter((s) => s.startsWith('@cdktf/provider-azurerm'));
    assert.ok(provider.length > 10);
    for (const specifier of provider) assert.match(specifier, /^@cdktf\/provider-azurerm\/lib\/[a-z0-9-]+$/);
  });
});
