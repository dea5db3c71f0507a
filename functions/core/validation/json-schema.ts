/**
 * JSON Schema validation for tool inputs and answers, through zod's JSON Schema reader. The
 * library loads with the first schema compiled, not at start, and each compiled schema is kept.
 */
export interface SchemaProblem {
  readonly path: string;
  readonly message: string;
}

export type Validate = (value: unknown) => readonly SchemaProblem[];

let zod: Promise<typeof import('zod')> | undefined;

export async function compileJsonSchema(schema: Record<string, unknown>): Promise<Validate> {
  const { z } = await (zod ??= import('zod'));
  const compiled = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  return (value) => {
    const result = compiled.safeParse(value);
    return result.success ? [] : result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  };
}
