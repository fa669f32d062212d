import { parseArgs } from 'node:util';
import type { Duration } from '@glasswork/core';
import { parseDuration } from '@glasswork/core';
import type { DemoOptions } from './demo.ts';
import { runDemo } from './demo.ts';
import { formatSummary } from './summary.ts';

const HELP = `pnpm demo [options]

Runs Glasswork end to end on your machine: an SQS emulator in this process (loopback only), a queue and a
FIFO queue with dead-letter queues and redrive policies, the SQS driver, the Lambda handler driven by a local
event source mapping, and the pino and OpenTelemetry plugins. Then prints a summary.

Options:
  --jobs <n>           thumbnails the fan-out job enqueues with enqueueMany (default 100)
  --delay <duration>   delay of the delayed job, e.g. 3s (default 3s; at most 15m)
  --concurrency <n>    invocations at once per queue (default 5)
  --batch-size <n>     records per invocation, 1 to 10 (default 10)
  --endpoint <url>     use this SQS endpoint instead of the emulator: LocalStack (http://localhost:4566) or
                       SQS itself (https://sqs.eu-west-1.amazonaws.com, with your AWS credentials). Creates
                       glasswork-demo-* queues and deletes them at the end
  --region <region>    region for --endpoint (default AWS_REGION, else us-east-1)
  --keep-queues        with --endpoint: leave the queues there
  --logs <mode>        pretty, json (pino's own lines) or none (default pretty)
  --verbose            debug lines too, and every thumbnail's lines
  --timeout <duration> give up after this long and exit 1 (default 60s)
  --no-color           plain text (also when NO_COLOR is set or the output is not a terminal)
  -h, --help           this text
`;

function positiveInteger(name: string, value: string | undefined, fallback: number, max = Infinity): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new Error(`--${name} must be a whole number from 0 to ${max}, got "${value}"`);
  }
  return n;
}

async function main(): Promise<number> {
  let options: DemoOptions;
  try {
    const { values } = parseArgs({
      options: {
        jobs: { type: 'string' },
        delay: { type: 'string' },
        concurrency: { type: 'string' },
        'batch-size': { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        'keep-queues': { type: 'boolean' },
        logs: { type: 'string' },
        verbose: { type: 'boolean' },
        timeout: { type: 'string' },
        'no-color': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    for (const name of ['delay', 'timeout'] as const) {
      const value = values[name];
      if (value !== undefined) parseDuration(value as Duration); // throws a message that says what is wrong
    }
    if (
      values.endpoint !== undefined &&
      !(/^https?:\/\//.test(values.endpoint) && URL.canParse(values.endpoint))
    ) {
      throw new Error(`--endpoint must be a URL such as http://localhost:4566, got "${values.endpoint}"`);
    }
    const logs = values.logs ?? 'pretty';
    if (logs !== 'pretty' && logs !== 'json' && logs !== 'none') {
      throw new Error(`--logs must be pretty, json or none, got "${logs}"`);
    }
    options = {
      jobs: positiveInteger('jobs', values.jobs, 100, 100_000),
      concurrency: Math.max(1, positiveInteger('concurrency', values.concurrency, 5, 100)),
      batchSize: Math.max(1, positiveInteger('batch-size', values['batch-size'], 10, 10)),
      logs,
      verbose: values.verbose ?? false,
      keepQueues: values['keep-queues'] ?? false,
      color: !values['no-color'] && process.stdout.isTTY === true && !process.env.NO_COLOR,
      ...(values.delay ? { delay: values.delay as Duration } : {}),
      ...(values.endpoint ? { endpoint: values.endpoint } : {}),
      ...(values.region ? { region: values.region } : {}),
      ...(values.timeout ? { timeout: values.timeout as Duration } : {}),
    };
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }

  const summary = await runDemo(options);
  console.log(`\n${formatSummary(summary)}`);
  return summary.complete ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error('The demo failed:', error);
  process.exitCode = 1;
}
