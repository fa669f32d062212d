import type { Duration } from './duration.ts';
import { parseTimeout } from './duration.ts';
import { ConfigurationError } from './errors.ts';
import type {
  AnyPlugin,
  BuildHook,
  DeliverHook,
  ExecuteContext,
  ExecuteHook,
  GlassworkEventName,
  GlassworkEvents,
  Observer,
  Plugin,
  PluginHooks,
  SendHook,
} from './types.ts';

/**
 * Defines a plugin. `setup` registers wrap hooks and observers; `context` adds typed fields to the
 * handler's context of every worker that has the plugin.
 */
export function definePlugin<TContext extends object = {}>(plugin: Plugin<TContext>): Plugin<TContext> {
  if (typeof plugin?.name !== 'string' || plugin.name === '') {
    throw new ConfigurationError('A plugin needs a non-empty name');
  }
  if (plugin.enforce !== undefined && plugin.enforce !== 'pre' && plugin.enforce !== 'post') {
    throw new ConfigurationError(`Plugin "${plugin.name}": enforce must be 'pre', 'post' or left out`);
  }
  return plugin;
}

/** Plugins in the order their hooks register: `pre`, then the rest as listed, then `post`. */
export function orderPlugins(plugins: readonly AnyPlugin[]): AnyPlugin[] {
  const seen = new Set<string>();
  for (const plugin of plugins) {
    if (seen.has(plugin.name)) {
      throw new ConfigurationError(`Plugin "${plugin.name}" is registered twice: pass each plugin once`);
    }
    seen.add(plugin.name);
  }
  const rank = (p: AnyPlugin) => (p.enforce === 'pre' ? 0 : p.enforce === 'post' ? 2 : 1);
  return [...plugins].sort((a, b) => rank(a) - rank(b));
}

interface Owned<T> {
  readonly plugin: string;
  readonly fn: T;
}

/** Everything the plugins of one client or worker registered, in order. */
export interface HookRegistry {
  readonly build: Owned<BuildHook>[];
  readonly send: Owned<SendHook>[];
  readonly deliver: Owned<DeliverHook>[];
  readonly execute: Owned<ExecuteHook>[];
  readonly observers: Map<GlassworkEventName, Owned<Observer<any>>[]>;
  readonly contexts: Owned<(ctx: ExecuteContext) => object>[];
}

/** Runs every plugin's `setup` in order and collects what it registers. */
export async function setupPlugins(plugins: readonly AnyPlugin[]): Promise<HookRegistry> {
  const registry: HookRegistry = {
    build: [],
    send: [],
    deliver: [],
    execute: [],
    observers: new Map(),
    contexts: [],
  };
  for (const plugin of orderPlugins(plugins)) {
    const owner = plugin.name;
    const hooks: PluginHooks = {
      build: (fn) => void registry.build.push({ plugin: owner, fn }),
      send: (fn) => void registry.send.push({ plugin: owner, fn }),
      deliver: (fn) => void registry.deliver.push({ plugin: owner, fn }),
      execute: (fn) => void registry.execute.push({ plugin: owner, fn }),
      on(event, fn) {
        let list = registry.observers.get(event);
        if (!list) {
          list = [];
          registry.observers.set(event, list);
        }
        list.push({ plugin: owner, fn });
      },
    };
    await plugin.setup?.(hooks);
    if (plugin.context) registry.contexts.push({ plugin: owner, fn: plugin.context });
  }
  return registry;
}

type Wrap<C, R> = (ctx: C, next: () => Promise<R>) => Promise<R>;

/**
 * Composes wrap hooks into one onion: the first registered is the outermost. Returns undefined when
 * there are none, so callers go straight to the inner function.
 */
export function compose<C, R>(
  hooks: readonly Owned<Wrap<C, R>>[],
): ((ctx: C, inner: () => Promise<R>) => Promise<R>) | undefined {
  if (hooks.length === 0) return undefined;
  const fns = hooks.map((h) => h.fn);
  return (ctx, inner) => {
    const dispatch = (index: number): Promise<R> => {
      if (index === fns.length) return inner();
      let called = false;
      const next = () => {
        if (called)
          return Promise.reject(
            new ConfigurationError(`A hook of "${hooks[index]?.plugin}" called next() twice`),
          );
        called = true;
        return dispatch(index + 1);
      };
      try {
        return Promise.resolve((fns[index] as Wrap<C, R>)(ctx, next));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return dispatch(0);
  };
}

export interface EventBusOptions {
  /** Longest an observer may take before it is reported and no longer awaited. @default '5s' */
  observerTimeout?: Duration;
  /** Where observer errors go when no plugin observes `observerError`. @default console.error */
  onObserverError?: (error: unknown, info: { plugin: string; event: string }) => void;
}

/** Delivers events to observers: awaited with a timeout, errors reported, never thrown. */
export class EventBus {
  readonly #observers: Map<GlassworkEventName, Owned<Observer<any>>[]>;
  readonly #timeout: number;
  readonly #fallback: (error: unknown, info: { plugin: string; event: string }) => void;

  constructor(observers: Map<GlassworkEventName, Owned<Observer<any>>[]>, options: EventBusOptions = {}) {
    this.#observers = observers;
    this.#timeout = parseTimeout(options.observerTimeout ?? '5s', 'observerTimeout');
    this.#fallback =
      options.onObserverError ??
      ((error, info) =>
        console.error(`[glasswork] observer of "${info.event}" in plugin "${info.plugin}" failed:`, error));
  }

  /** Whether anything observes `event` (so callers skip building its payload). */
  has(event: GlassworkEventName): boolean {
    return this.#observers.has(event);
  }

  async emit<E extends GlassworkEventName>(event: E, payload: GlassworkEvents[E]): Promise<void> {
    const list = this.#observers.get(event);
    if (!list) return;
    if (list.length === 1) return this.#call(list[0] as Owned<Observer<E>>, event, payload);
    await Promise.all(list.map((o) => this.#call(o, event, payload)));
  }

  /** Reports an error from a plugin without letting it escape. */
  report(error: unknown, plugin: string, event: string): void {
    const list = event === 'observerError' ? undefined : this.#observers.get('observerError');
    if (!list) {
      try {
        this.#fallback(error, { plugin, event });
      } catch {
        // The last resort must not throw into a job's outcome.
      }
      return;
    }
    for (const observer of list) {
      try {
        const result = observer.fn({ error, plugin, event });
        if (result && typeof (result as Promise<void>).catch === 'function') {
          (result as Promise<void>).catch((e: unknown) =>
            this.#fallback(e, { plugin: observer.plugin, event: 'observerError' }),
          );
        }
      } catch (e) {
        this.#fallback(e, { plugin: observer.plugin, event: 'observerError' });
      }
    }
  }

  async #call<E extends GlassworkEventName>(
    observer: Owned<Observer<E>>,
    event: E,
    payload: GlassworkEvents[E],
  ) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = observer.fn(payload);
      if (!result || typeof (result as Promise<void>).then !== 'function') return;
      await Promise.race([
        result,
        new Promise<void>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`observer did not settle within ${this.#timeout}ms`)),
            this.#timeout,
          );
        }),
      ]);
    } catch (error) {
      this.report(error, observer.plugin, event);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}
