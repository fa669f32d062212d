import { startFauxqs } from 'fauxqs';

// Runs fauxqs in its own process, so its CPU is not in the measured one. Prints its port, then serves until
// its parent goes away.
const server = await startFauxqs({ port: 0, logger: false });
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
const stop = () => void server.stop().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
