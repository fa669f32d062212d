/**
 * Settles with `work`, or rejects with the abort reason as soon as `controller` aborts (its timeout) or
 * `outer` does, whichever comes first; `controller` is aborted either way so the handler's signal fires.
 * The work may go on after that (a handler that ignores its signal); callers follow it separately.
 */
export function raceAbort<T>(
  work: Promise<T>,
  controller: AbortController,
  outer: AbortSignal | undefined,
  onSettle: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onOuterAbort = () => controller.abort(outer?.reason);
    const cleanup = () => {
      onSettle();
      outer?.removeEventListener('abort', onOuterAbort);
    };
    controller.signal.addEventListener(
      'abort',
      () => {
        cleanup();
        reject(controller.signal.reason);
      },
      { once: true },
    );
    if (outer) {
      if (outer.aborted) onOuterAbort();
      else outer.addEventListener('abort', onOuterAbort, { once: true });
    }
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
export function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
