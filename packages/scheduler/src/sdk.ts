import { ConfigurationError } from '@glasswork/core';
import type { SchedulerClientLike } from './types.ts';

// The AWS SDK clients are optional peers, loaded on first use: an app that only uses the local scheduler
// needs no Scheduler client, and one in production no SQS client. Nothing here is part of the public types.

function optionalPeer<T>(load: () => Promise<T>, install: string): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw new ConfigurationError(install, { cause: error });
    });
    return loaded;
  };
}

type SchedulerSdk = typeof import('@aws-sdk/client-scheduler');
type SqsSdk = typeof import('@aws-sdk/client-sqs');

/** Loads `@aws-sdk/client-scheduler` on first use. */
export const loadSchedulerSdk: () => Promise<SchedulerSdk> = optionalPeer(
  () => import('@aws-sdk/client-scheduler'),
  'EventBridge Scheduler needs @aws-sdk/client-scheduler: npm install @aws-sdk/client-scheduler',
);

/** Loads `@aws-sdk/client-sqs` on first use. */
export const loadSqsSdk: () => Promise<SqsSdk> = optionalPeer(
  () => import('@aws-sdk/client-sqs'),
  'The local scheduler needs @aws-sdk/client-sqs: npm install -D @aws-sdk/client-sqs',
);

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
