import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth, so two values that mean the same thing give the
 * same text whatever order a model or a caller wrote their keys in. Arrays keep their order:
 * in JSON it carries meaning. Values JSON cannot represent (undefined, functions) are dropped
 * from objects exactly as JSON.stringify drops them.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/**
 * A short, stable fingerprint of parts that identify one thing: each part is canonical JSON and
 * the parts are separated by a byte no JSON text contains, so ("a", "bc") and ("ab", "c") differ.
 */
export function contentDigest(...parts: unknown[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(canonicalJson(part) ?? 'undefined').update('\0');
  return hash.digest('hex').slice(0, 32);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return sortKeys((value as { toJSON(): unknown }).toJSON());
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}
