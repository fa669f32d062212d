import { ConfigurationError } from './errors.ts';
import { isStandardSchema } from './schema.ts';
import type { InferInput, InferOutput, Job, JobOptions, StandardSchemaV1 } from './types.ts';

// Printable characters only, no control characters: the name travels in an attribute and in logs.
const JOB_NAME = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

/**
 * Defines a job contract. Import it in producers and workers alike; handlers are attached on the
 * worker with `worker.handle(job, handler)`, so a producer bundle never pulls in handler code.
 *
 * The payload type comes from `schema` (any Standard Schema, e.g. valibot), else from the type parameter:
 * `defineJob<{ userId: string }>({ name: 'send-email' })`.
 */
export function defineJob<const S extends StandardSchemaV1>(
  options: JobOptions<InferInput<S>> & { schema: S },
): Job<InferInput<S>, InferOutput<S>>;
export function defineJob<TPayload = unknown>(
  options: JobOptions<TPayload> & { schema?: undefined },
): Job<TPayload, TPayload>;
export function defineJob(options: JobOptions<unknown> & { schema?: StandardSchemaV1 }): Job {
  const { name, schema, queue, group, dedupe } = options;
  if (typeof name !== 'string' || !JOB_NAME.test(name)) {
    throw new ConfigurationError(
      `Invalid job name ${JSON.stringify(name)}: use 1-200 printable ASCII characters, not starting or ending with a space`,
    );
  }
  if (schema !== undefined && !isStandardSchema(schema)) {
    throw new ConfigurationError(
      `Job "${name}": schema must implement Standard Schema v1 (valibot, zod, arktype, ...)`,
    );
  }
  if (queue !== undefined && (typeof queue !== 'string' || queue === '')) {
    throw new ConfigurationError(`Job "${name}": queue must be a non-empty string`);
  }
  if (group !== undefined && typeof group !== 'string' && typeof group !== 'function') {
    throw new ConfigurationError(`Job "${name}": group must be a string or a function of the payload`);
  }
  if (dedupe !== undefined && typeof dedupe !== 'function') {
    throw new ConfigurationError(`Job "${name}": dedupe must be a function of the payload`);
  }
  return Object.freeze({ kind: 'glasswork.job', name, schema, queue, group, dedupe });
}

/** True for a job contract (from any copy of the core). */
export function isJob(value: unknown): value is Job {
  return (value as { kind?: unknown } | null)?.kind === 'glasswork.job';
}
