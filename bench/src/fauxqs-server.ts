import { createInterface } from 'node:readline';
import { JOB_NAME_ATTRIBUTE } from '@glasswork/core';
import { startFauxqs } from 'fauxqs';
import { benchJob, envelopeBody } from './jobs.ts';

// Runs fauxqs in its own process, so its CPU is not in the measured one. Prints its port, then serves until
// its parent goes away. A line `{"fill":"<queue name>","count":N}` on stdin puts N bench envelopes on that
// queue in memory (seeding through HTTP would cost as much as the runs it prepares); it answers `{"filled":N}`.
const server = await startFauxqs({ port: 0, logger: false });
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
const stop = () => void server.stop().finally(() => process.exit(0));
process.on('SIGTERM', stop);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { fill, count } = JSON.parse(line) as { fill: string; count: number };
  const messageAttributes = { [JOB_NAME_ATTRIBUTE]: { DataType: 'String', StringValue: benchJob.name } };
  for (let n = 0; n < count; n++) server.sendMessage(fill, envelopeBody(n), { messageAttributes });
  process.stdout.write(`${JSON.stringify({ filled: count })}\n`);
});
lines.on('close', stop);
