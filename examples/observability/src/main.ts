import { ConsoleSpanExporter } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { startExample } from './app.ts';

// pnpm --filter @glasswork/example-observability start: one request, then the spans on the console.
let delivered: () => void = () => {};
const sent = new Promise<void>((resolve) => {
  delivered = resolve;
});
const example = await startExample({
  exporter: new ConsoleSpanExporter(),
  logger: pino(),
  mailer: {
    async send(to, subject) {
      console.log(`mail to ${to}: ${subject}`);
      delivered();
    },
  },
});
const response = await fetch(`${example.url}/signup`, {
  method: 'POST',
  body: JSON.stringify({ email: 'ada@example.com' }),
});
console.log(response.status, await response.json()); // 202 { jobId, traceId }: every span above has that trace id
await sent;
await example.stop();
