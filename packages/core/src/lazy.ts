/**
 * Runs `init` once, on first use, and caches its promise. A rejection is not cached: the next call
 * tries again (an async plugin setup that failed on one Lambda invocation is retried on the next).
 */
export function lazy<T>(init: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending) {
      pending = init();
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}
