import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkerConfig, WorkerMessage } from './topology.ts';
import { CONFIG_ENV } from './topology.ts';

const REGISTER = fileURLToPath(new URL('./register.ts', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));

/** A worker process slot: started, killed with SIGKILL, started again under the same label and config. */
export class WorkerSlot {
  readonly config: WorkerConfig;
  readonly #log: WriteStream | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  starts = 0;
  kills = 0;
  /** Starts that failed (a setup request lost to the faults): a supervisor starts the process again. */
  failedStarts = 0;

  constructor(config: WorkerConfig, log?: WriteStream) {
    this.config = config;
    this.#log = log;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the process and resolves once its pollers or mappings run. */
  async start(timeoutMs = 60_000): Promise<void> {
    this.starts++;
    const child = fork(WORKER_MAIN, {
      execArgv: ['--import', REGISTER, '--disable-warning=ExperimentalWarning'],
      env: { ...process.env, [CONFIG_ENV]: JSON.stringify(this.config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.#child = child;
    const prefix = `[${this.config.label}#${this.starts}] `;
    const forward = (data: Buffer) =>
      this.#log?.write(prefix + data.toString().replace(/\n(?=.)/g, `\n${prefix}`));
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.config.label} did not start in ${timeoutMs}ms`)),
        timeoutMs,
      );
      child.on('message', (message: WorkerMessage) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve();
        else reject(new Error(`${this.config.label} failed to start: ${message.error}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.config.label} exited while starting (${code ?? signal})`));
      });
    });
  }

  /** Starts the process as a supervisor (ECS, systemd) would: again after a failed start, up to `tries` times. */
  async supervise(tries = 5, delayMs = 500): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.start();
      } catch (error) {
        this.failedStarts++;
        await this.kill({ count: false });
        if (attempt >= tries) throw error;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /** SIGKILL: no shutdown, no flush; what it held comes back after the visibility timeout. */
  async kill(options: { count?: boolean } = {}): Promise<void> {
    const child = this.#child;
    if (!child) return;
    if (options.count ?? true) this.kills++;
    child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM: pollers and mappings stop and hand back what they hold; SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
