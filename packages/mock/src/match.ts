/** A vitest/jest asymmetric matcher such as `expect.any(String)`; recognised without importing vitest. */
interface AsymmetricMatcher {
  asymmetricMatch(actual: unknown): boolean;
}

function isAsymmetric(value: unknown): value is AsymmetricMatcher {
  return typeof (value as AsymmetricMatcher | null)?.asymmetricMatch === 'function';
}

/** What a payload is checked against: a partial object (deeply), a predicate, or an asymmetric matcher. */
export type PayloadMatcher<T> = ((payload: T) => boolean) | DeepPartial<T> | AsymmetricMatcher;

export type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | AsymmetricMatcher }
    : T | AsymmetricMatcher;

/**
 * True when `actual` satisfies `expected`: objects match when every key of `expected` matches (extra keys
 * in `actual` are fine), arrays element by element with equal length, other values by `Object.is`.
 * Iterative, so a deep payload cannot overflow the stack.
 */
export function matches(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'function') return Boolean((expected as (v: unknown) => unknown)(actual));
  const stack: [unknown, unknown][] = [[actual, expected]];
  while (stack.length > 0) {
    const [a, e] = stack.pop() as [unknown, unknown];
    if (isAsymmetric(e)) {
      if (!e.asymmetricMatch(a)) return false;
      continue;
    }
    if (e instanceof Date) {
      if (!(a instanceof Date) || a.getTime() !== e.getTime()) return false;
      continue;
    }
    if (Array.isArray(e)) {
      if (!Array.isArray(a) || a.length !== e.length) return false;
      for (let i = 0; i < e.length; i++) stack.push([a[i], e[i]]);
      continue;
    }
    if (typeof e === 'object' && e !== null) {
      if (typeof a !== 'object' || a === null) return false;
      for (const key of Object.keys(e)) {
        if (!Object.hasOwn(a, key) && (e as Record<string, unknown>)[key] !== undefined) return false;
        stack.push([(a as Record<string, unknown>)[key], (e as Record<string, unknown>)[key]]);
      }
      continue;
    }
    if (!Object.is(a, e)) return false;
  }
  return true;
}
