import { defineJob } from '@glasswork/core';
import * as v from 'valibot';
import type { SchedulerClientLike } from '../src/index.ts';

export const ROLE = 'arn:aws:iam::123456789012:role/glasswork-scheduler';
export const EMAILS_ARN = 'arn:aws:sqs:eu-west-1:123456789012:emails';
export const ORDERS_ARN = 'arn:aws:sqs:eu-west-1:123456789012:orders.fifo';
export const DLQ_ARN = 'arn:aws:sqs:eu-west-1:123456789012:scheduler-dlq';

export interface RecordedCall {
  readonly command: string;
  readonly input: any;
}

/** An error shaped as the SDK throws them: recognised by `name`. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

/**
 * A Scheduler client that records each command (its class name and input) and answers like the service:
 * the one place a test double stands in for AWS, since no EventBridge Scheduler emulator exists here.
 * `answer` may return a value or throw for a command to simulate the service.
 */
export function recordingClient(
  answer?: (command: string, input: any) => unknown,
): SchedulerClientLike & { readonly calls: RecordedCall[]; of(command: string): any[] } {
  const calls: RecordedCall[] = [];
  return {
    calls,
    of: (command) => calls.filter((c) => c.command === command).map((c) => c.input),
    async send(command: { constructor: { name: string }; input: unknown }) {
      const name = command.constructor.name;
      const input = structuredClone(command.input);
      calls.push({ command: name, input });
      const custom = answer?.(name, input);
      if (custom !== undefined) return custom;
      if (name === 'CreateScheduleCommand') {
        const i = input as { GroupName: string; Name: string };
        return { ScheduleArn: `arn:aws:scheduler:eu-west-1:123456789012:schedule/${i.GroupName}/${i.Name}` };
      }
      if (name === 'ListSchedulesCommand') return { Schedules: [] };
      return {};
    },
  };
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection<E extends Error = Error>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** A job on a standard queue, with a schema. */
export const reminder = defineJob({
  name: 'send-reminder',
  queue: 'emails',
  schema: v.object({ userId: v.string() }),
});

/** A job on a FIFO queue, grouped by order. */
export const shipOrder = defineJob<{ orderId: string }>({
  name: 'ship-order',
  queue: 'orders.fifo',
  group: (p) => p.orderId,
});
