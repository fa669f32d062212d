import { ConfigurationError } from '@glasswork/core';
import type { SchedulerClientLike } from './types.ts';

// The AWS SDK clients are optional peers, loaded on first use: an app that only uses the local scheduler
// needs no Scheduler client, and one in production no SQS client. Nothing here is part of the public types.

type SchedulerSdk = typeof import('@aws-sdk/client-scheduler');

let sdkModule: Promise<SchedulerSdk> | undefined;

/** Loads `@aws-sdk/client-scheduler` on first use, so the package stays optional for local-only users. */
export function loadSchedulerSdk(): Promise<SchedulerSdk> {
  sdkModule ??= import('@aws-sdk/client-scheduler').catch((error: unknown) => {
    sdkModule = undefined;
    throw new ConfigurationError(
      'EventBridge Scheduler needs @aws-sdk/client-scheduler: npm install @aws-sdk/client-scheduler',
      { cause: error },
    );
  });
  return sdkModule;
}

/** The SDK client to use: the one passed in, or one created on first use. */
export function schedulerClient(client: SchedulerClientLike | undefined): () => Promise<SchedulerClientLike> {
  let created: Promise<SchedulerClientLike> | undefined;
  return () => {
    if (client) return Promise.resolve(client);
    created ??= loadSchedulerSdk().then((sdk) => new sdk.SchedulerClient({}));
    return created;
  };
}

/** True for an AWS SDK error of this name (from any copy of the SDK, or a test double). */
export function isAwsError(error: unknown, name: string): boolean {
  return (error as { name?: unknown } | null)?.name === name;
}

type SqsSdk = typeof import('@aws-sdk/client-sqs');
let sqsModule: Promise<SqsSdk> | undefined;
/** Loads `@aws-sdk/client-sqs` on first use. */
export function loadSqsSdk(): Promise<SqsSdk> {
  sqsModule ??= import('@aws-sdk/client-sqs').catch((error: unknown) => {
    sqsModule = undefined;
    throw new ConfigurationError(
      'The local scheduler needs @aws-sdk/client-sqs: npm install -D @aws-sdk/client-sqs',
      { cause: error },
    );
  });
  return sqsModule;
}
