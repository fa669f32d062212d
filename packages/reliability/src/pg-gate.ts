import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

/**
 * A Postgres wire server in front of one PGlite, for several worker processes at once. PGlite has one
 * session, so connections take turns: a unit of messages (up to a Sync, a simple Query or a Flush) runs
 * whole, and a connection inside a transaction keeps the session until the transaction ends, so no other
 * connection's statements land in it. A connection that closes inside a transaction (a worker killed with
 * SIGKILL) is rolled back, as Postgres does for a lost backend.
 *
 * Why not pglite-socket's multiplexer: it queues single protocol messages, so two connections' extended
 * queries (Parse, Bind, Execute, Sync) can interleave outside explicit transactions.
 */
export interface PgGate {
  readonly host: string;
  readonly port: number;
  /** Runs `fn` when no connection holds the session (for the orchestrator's own queries). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const ROLLBACK = queryMessage('ROLLBACK');

function queryMessage(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const message = Buffer.alloc(5 + text.length);
  message.write('Q', 0, 'latin1');
  message.writeInt32BE(4 + text.length, 1);
  text.copy(message, 5);
  return message;
}

/** The transaction status of the last ReadyForQuery in a response, if it has one: I, T or E. */
function readyStatus(response: Uint8Array): string | undefined {
  let status: string | undefined;
  const view = Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  for (let at = 0; at + 5 <= view.length; ) {
    const type = view[at];
    const length = view.readInt32BE(at + 1);
    if (type === 0x5a /* Z */ && length === 5) status = String.fromCharCode(view[at + 5] as number);
    at += 1 + length;
  }
  return status;
}

export async function startPgGate(db: PGlite): Promise<PgGate> {
  let owner: object | undefined;
  const waiting: { who: object; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();

  async function acquire(who: object): Promise<void> {
    if (owner === who) return;
    if (owner === undefined && waiting.length === 0) {
      owner = who;
      return;
    }
    await new Promise<void>((resolve) => waiting.push({ who, resolve }));
  }
  function release(who: object): void {
    if (owner !== who) return;
    owner = undefined;
    const next = waiting.shift();
    if (next) {
      owner = next.who;
      next.resolve();
    }
  }

  const exec = (message: Uint8Array) => db.runExclusive(() => db.execProtocolRaw(message));

  function serve(socket: Socket): void {
    sockets.add(socket);
    socket.setNoDelay(true);
    const who = {};
    let buffer: Buffer = Buffer.alloc(0);
    let started = false;
    let unit: Buffer[] = [];
    let chain = Promise.resolve();
    let closed = false;

    const run = (messages: Buffer[]) => {
      chain = chain.then(async () => {
        if (closed) return;
        await acquire(who);
        try {
          let status: string | undefined;
          const responses: Uint8Array[] = [];
          for (const message of messages) {
            const response = await exec(message);
            status = readyStatus(response) ?? status;
            responses.push(response);
          }
          // One write per unit: small writes would each wait for the client's delayed ACK.
          if (!closed) socket.write(Buffer.concat(responses));
          if (status === 'I') release(who);
        } catch {
          socket.destroy();
        }
      });
    };

    socket.on('data', (data: Buffer) => {
      buffer = buffer.length === 0 ? data : Buffer.concat([buffer, data]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const message = buffer.subarray(0, length);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST || code === GSS_REQUEST) socket.write('N');
          else if (code === CANCEL_REQUEST) socket.end();
          else {
            started = true;
            run([Buffer.from(message)]);
          }
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) return;
        const type = String.fromCharCode(buffer[0] as number);
        const message = Buffer.from(buffer.subarray(0, 1 + length));
        buffer = buffer.subarray(1 + length);
        if (type === 'X') {
          socket.end();
          return;
        }
        unit.push(message);
        if (type === 'S' || type === 'Q' || type === 'H' || type === 'p') {
          const messages = unit;
          unit = [];
          run(messages);
        }
      }
    });
    const close = () => {
      if (closed) return;
      closed = true;
      sockets.delete(socket);
      chain = chain.then(async () => {
        if (owner !== who) return;
        // The backend is gone mid-transaction: roll it back, as Postgres would.
        await exec(ROLLBACK).catch(() => {});
        release(who);
      });
      // A connection waiting for the session must not take it after it closed.
      const index = waiting.findIndex((w) => w.who === who);
      if (index >= 0) waiting.splice(index, 1);
    };
    socket.on('close', close);
    socket.on('error', close);
  }

  const server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    async exclusive(fn) {
      const who = {};
      await acquire(who);
      try {
        return await fn();
      } finally {
        release(who);
      }
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
