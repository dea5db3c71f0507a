import Ajv2020 from 'ajv/dist/2020';
import draft7 from 'ajv/dist/refs/json-schema-draft-07.json';
import { z } from 'zod';

/**
 * Checks a tool's input schema or an agent's output schema at synth, so a schema the models or
 * the runtime would refuse fails with the field that is wrong instead of at the first call. Two
 * checks: the JSON Schema meta-schema (draft 2020-12, which the model APIs read, or draft-07 when
 * the schema says so), with Ajv, the reference validator; then the runtime's own reader (zod's
 * JSON Schema support), which also refuses what the meta-schema allows but no validator can use:
 * a pattern that is not a regular expression, a `$ref` to nothing.
 */

let ajv: Ajv2020 | undefined;
const metaValidator = () => {
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addMetaSchema(draft7);
  }
  return ajv;
};

export interface JsonSchemaProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

export function jsonSchemaProblems(schema: Record<string, unknown>): JsonSchemaProblem[] {
  const validator = metaValidator();
  let valid: boolean;
  try {
    valid = validator.validateSchema(schema) as boolean;
  } catch (e) {
    return [{ path: ['$schema'], message: `${(e as Error).message}; use draft 2020-12 (the default) or draft-07` }];
  }
  if (!valid) {
    // The meta-schema explains one mistake several ways (each branch of an anyOf); the first
    // explanation per field is the plainest.
    const first = new Map<string, JsonSchemaProblem>();
    for (const error of validator.errors ?? []) {
      if (first.has(error.instancePath)) continue;
      const allowed = error.params && 'allowedValues' in error.params ? ` (${(error.params.allowedValues as unknown[]).join(', ')})` : '';
      first.set(error.instancePath, { path: error.instancePath.split('/').slice(1).map(decodePointer), message: `is not valid JSON Schema: ${error.message ?? 'refused by the meta-schema'}${allowed}` });
    }
    return [...first.values()];
  }
  try {
    z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (e) {
    return [{ path: [], message: `cannot be used to validate: ${(e as Error).message}` }];
  }
  return [];
}

/** A JSON Pointer segment as the key it names (RFC 6901), numbers as array indices. */
function decodePointer(part: string): string | number {
  const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
  return /^\d+$/.test(key) ? Number(key) : key;
}
