import type { StandardIssue, StandardResult, StandardSchemaV1 } from './types.ts';

/** Runs a Standard Schema, awaiting any thenable it returns (not only native promises). */
export async function validate<O>(
  schema: StandardSchemaV1<unknown, O>,
  value: unknown,
): Promise<StandardResult<O>> {
  return await schema['~standard'].validate(value);
}

export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } } | null)?.['~standard'];
  return (
    typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function'
  );
}

export type { StandardIssue };
