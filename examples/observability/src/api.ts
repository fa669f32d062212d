import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Client } from '@glasswork/core';
import type { Tracer } from '@opentelemetry/api';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { sendWelcomeEmail } from './jobs.ts';

/**
 * The API: `POST /signup { email }` enqueues a welcome email and answers 202 with the job id and trace id.
 * The server span is made by hand here (the HTTP instrumentation would make the same one): it continues the
 * caller's trace from the `traceparent` header, and the enqueue runs inside it, so the job joins the trace.
 */
export function createApi(options: { client: Client; tracer: Tracer }): Server {
  const { client, tracer } = options;
  return createServer((req, res) => {
    const parent = propagation.extract(context.active(), req.headers);
    tracer.startActiveSpan(
      `${req.method} ${req.url}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method ?? '', 'url.path': req.url ?? '' },
      },
      parent,
      async (span) => {
        try {
          const status = await route(req, res, client);
          span.setAttribute('http.response.status_code', status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        } finally {
          span.end();
        }
      },
    );
  });
}

async function route(req: IncomingMessage, res: ServerResponse, client: Client): Promise<number> {
  if (req.method !== 'POST' || req.url !== '/signup') return reply(res, 404, { error: 'not found' });
  let body: { email?: unknown };
  try {
    body = JSON.parse(await text(req)) as { email?: unknown };
  } catch {
    return reply(res, 400, { error: 'the body is not JSON' });
  }
  try {
    const job = await client.enqueue(sendWelcomeEmail, { email: String(body.email) });
    const traceId = trace.getActiveSpan()?.spanContext().traceId;
    return reply(res, 202, { jobId: job.id, traceId });
  } catch (error) {
    // InvalidJobPayloadError says which field is wrong.
    return reply(res, 400, { error: (error as Error).message });
  }
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function reply(res: ServerResponse, status: number, body: unknown): number {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  return status;
}
