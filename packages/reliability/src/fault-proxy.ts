import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRng, hash, type Rng } from './rng.ts';

/** What can go wrong with one request, as probabilities (their sum at most 1; the rest pass untouched). */
export interface FaultMix {
  /** The connection is cut before the request reaches SQS. */
  readonly drop: number;
  /** The answer is held back for `delayMs` before it is passed on. */
  readonly delay: number;
  /** SQS's throttling answer (HTTP 400, `RequestThrottled` or `ThrottlingException`); not carried out. */
  readonly throttle: number;
  /** HTTP 500 `InternalError`; not carried out. */
  readonly serverError: number;
  /** The request is carried out by SQS, then the connection is cut before the answer arrives. */
  readonly loseResponse: number;
  /** Range of a delay, ms. */
  readonly delayMs: readonly [number, number];
}

export type FaultKind = 'pass' | 'drop' | 'delay' | 'throttle' | 'serverError' | 'loseResponse';
export const FAULT_KINDS: readonly FaultKind[] = [
  'pass',
  'drop',
  'delay',
  'throttle',
  'serverError',
  'loseResponse',
];

export const NO_FAULTS: FaultMix = {
  drop: 0,
  delay: 0,
  throttle: 0,
  serverError: 0,
  loseResponse: 0,
  delayMs: [0, 0],
};

export interface FaultProxyOptions {
  /** The emulator's endpoint, e.g. `http://127.0.0.1:4566`. */
  readonly target: string;
  readonly mix: FaultMix;
  /** Seeds one generator per SQS action, so the n-th request of an action meets the same fault on every run. */
  readonly seed: number;
}

export interface FaultProxy {
  /** Point SQS clients here (loopback). */
  readonly endpoint: string;
  /** Faults injected so far, by action and kind. */
  readonly counts: ReadonlyMap<string, Record<FaultKind, number>>;
  /** Changes the mix from now on (e.g. no faults while the final state is read). */
  setMix(mix: FaultMix): void;
  stop(): Promise<void>;
}

/** The SQS action of a request: `X-Amz-Target: AmazonSQS.<Action>` (JSON protocol) or `Action=` (query). */
function actionOf(req: IncomingMessage, body: Buffer): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.lastIndexOf('.') + 1);
  return /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString('latin1'))?.[1] ?? 'unknown';
}

function sendError(res: ServerResponse, status: number, code: string, fault: 'Sender' | 'Receiver') {
  const body = JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message: `injected fault: ${code}` });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-query-error': `${code};${fault}`,
    'x-amzn-requestid': crypto.randomUUID(),
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * An HTTP proxy on loopback in front of the SQS emulator that injects faults with a seeded mix: cut
 * connections, delayed answers, throttling and 500 answers, and lost answers of requests SQS carried out
 * (a delete that succeeded but whose answer never came back).
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  let mix = options.mix;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const rngs = new Map<string, Rng>();
  const counts = new Map<string, Record<FaultKind, number>>();
  const sockets = new Set<import('node:net').Socket>();

  function decide(action: string): { kind: FaultKind; ms: number } {
    let rng = rngs.get(action);
    if (!rng) {
      rng = createRng(hash(`${options.seed}:${action}`));
      rngs.set(action, rng);
    }
    let r = rng.next();
    let kind: FaultKind = 'pass';
    for (const k of ['drop', 'delay', 'throttle', 'serverError', 'loseResponse'] as const) {
      if (r < mix[k]) {
        kind = k;
        break;
      }
      r -= mix[k];
    }
    let tally = counts.get(action);
    if (!tally) {
      tally = { pass: 0, drop: 0, delay: 0, throttle: 0, serverError: 0, loseResponse: 0 };
      counts.set(action, tally);
    }
    tally[kind]++;
    return { kind, ms: kind === 'delay' ? rng.int(mix.delayMs[0], mix.delayMs[1]) : 0 };
  }

  function forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: any; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const action = actionOf(req, body);
      const { kind, ms } = decide(action);
      if (kind === 'drop') return req.socket.destroy();
      if (kind === 'throttle') {
        const code = body.length % 2 === 0 ? 'RequestThrottled' : 'ThrottlingException';
        return sendError(res, 400, code, 'Sender');
      }
      if (kind === 'serverError') return sendError(res, 500, 'InternalError', 'Receiver');
      let answer: Awaited<ReturnType<typeof forward>>;
      try {
        answer = await forward(req, body);
      } catch {
        return req.socket.destroy();
      }
      if (kind === 'loseResponse') return req.socket.destroy();
      if (kind === 'delay') await new Promise((r) => setTimeout(r, ms));
      if (res.destroyed) return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    setMix(next) {
      mix = next;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
