import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningExample } from '../src/app.ts';
import { startExample } from '../src/app.ts';

const exporter = new InMemorySpanExporter();
const logLines: Record<string, unknown>[] = [];
const mails: string[] = [];
let mailed: () => void = () => {};
let example: RunningExample;

beforeAll(async () => {
  example = await startExample({
    exporter,
    logger: pino({}, { write: (line: string) => void logLines.push(JSON.parse(line)) }),
    mailer: {
      async send(to) {
        mails.push(to);
        mailed();
      },
    },
  });
});
afterAll(async () => example?.stop());

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('one trace from the HTTP request into the worker', () => {
  it('joins the caller, the API, the enqueue, the delivery and the handler in one trace', async () => {
    const sent = new Promise<void>((resolve) => {
      mailed = resolve;
    });
    const response = await fetch(`${example.url}/signup`, {
      method: 'POST',
      // A caller that is traced already (a browser, a gateway): its trace goes on through the queue.
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
      body: JSON.stringify({ email: 'ada@example.com' }),
    });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { jobId: string; traceId: string };
    expect(body.traceId).toBe(CALLER_TRACE);
    await sent;
    expect(mails).toEqual(['ada@example.com']);
    // The process span ends once the outcome is applied; wait for it rather than for a fixed time.
    const spans = await until(() => {
      const all = exporter.getFinishedSpans();
      return all.some((s) => s.name === 'process emails') ? all : undefined;
    });

    const byName = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0] as ReadableSpan;
    };
    const server = byName('POST /signup');
    const create = byName('create emails');
    const send = byName('send emails');
    const process = byName('process emails');
    const handler = byName('render welcome email');
    const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
    const idOf = (span: ReadableSpan) => span.spanContext().spanId;

    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([CALLER_TRACE]));
    expect(parentOf(server)).toBe(CALLER_SPAN);
    expect(parentOf(create)).toBe(idOf(server));
    expect(parentOf(send)).toBe(idOf(server));
    expect(parentOf(process)).toBe(idOf(create));
    expect(parentOf(handler)).toBe(idOf(process));
    expect(process.attributes).toMatchObject({
      'glasswork.job.name': 'send-welcome-email',
      'glasswork.job.id': body.jobId,
      'glasswork.outcome': 'success',
    });
    expect(process.links.map((l) => l.context.spanId)).toEqual([idOf(create)]);

    // The handler's log line carries the trace and the span it was written in.
    const rendered = logLines.find((l) => l.msg === 'rendering the welcome email');
    expect(rendered).toMatchObject({ trace_id: CALLER_TRACE, span_id: idOf(handler), jobId: body.jobId });
  });

  it('answers 400 with the reason for a payload the contract rejects, and enqueues nothing', async () => {
    // A send span is one call to SQS; the refused payload gets a failed create span and no send.
    const sends = () => exporter.getFinishedSpans().filter((s) => s.name.startsWith('send ')).length;
    const before = sends();
    const response = await fetch(`${example.url}/signup`, {
      method: 'POST',
      body: JSON.stringify({ email: 'not an email' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /Invalid payload for job "send-welcome-email": email/,
    );
    expect(sends()).toBe(before);
  });
});

async function until<T>(read: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for the spans');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
