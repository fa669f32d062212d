import { ConfigurationError } from '@glasswork/core';

/** The parts of an ARN: `arn:partition:service:region:account:resource`. */
export interface Arn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

// aws, aws-cn, aws-us-gov, and the isolated partitions (aws-iso, aws-iso-b, aws-eusc...).
const ARN = /^arn:(aws(?:-[a-z]+)*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)$/;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,75}(\.fifo)?$/;

/** Splits an ARN; throws a `ConfigurationError` that names `what` when it is not one. */
export function parseArn(arn: string, what: string): Arn {
  const m = typeof arn === 'string' ? ARN.exec(arn) : null;
  if (!m) {
    throw new ConfigurationError(
      `${what} ${JSON.stringify(arn)} is not an ARN: expected arn:<partition>:<service>:<region>:<account>:<resource>`,
    );
  }
  const [, partition, service, region, account, resource] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { partition, service, region, account, resource };
}

/** Checks an SQS queue ARN (`arn:aws:sqs:us-east-1:123456789012:emails`) and returns its parts. */
export function parseQueueArn(arn: string, what: string): Arn & { readonly fifo: boolean } {
  const parsed = parseArn(arn, what);
  if (parsed.service !== 'sqs' || !parsed.region || !parsed.account || !QUEUE_NAME.test(parsed.resource)) {
    throw new ConfigurationError(
      `${what} ${JSON.stringify(arn)} is not an SQS queue ARN: expected arn:<partition>:sqs:<region>:<account>:<queue name>`,
    );
  }
  return { ...parsed, fifo: parsed.resource.endsWith('.fifo') };
}

/** Checks an IAM role ARN (`arn:aws:iam::123456789012:role/glasswork-scheduler`) and returns its parts. */
export function parseRoleArn(arn: string, what = 'roleArn'): Arn {
  const parsed = parseArn(arn, what);
  if (
    parsed.service !== 'iam' ||
    parsed.region !== '' ||
    !parsed.account ||
    !/^role\/[\w+=,.@/-]+$/.test(parsed.resource)
  ) {
    throw new ConfigurationError(
      `${what} ${JSON.stringify(arn)} is not an IAM role ARN: expected arn:<partition>:iam::<account>:role/<name>`,
    );
  }
  return parsed;
}

/** The partition a region belongs to: `aws-cn` for China, `aws-us-gov` for GovCloud, else `aws`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eusc-')) return 'aws-eusc';
  return 'aws';
}

/**
 * The ARN of a queue from its URL, e.g. `https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs` gives
 * `arn:aws-cn:sqs:cn-north-1:123456789012:jobs`. The partition comes from the region.
 */
export function queueArnFromUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigurationError(`${JSON.stringify(url)} is not a queue URL`);
  }
  const [account, name, ...rest] = parsed.pathname.split('/').filter(Boolean);
  // sqs.<region>.amazonaws.com[.cn] and the legacy <region>.queue.amazonaws.com.
  const region =
    /^sqs(?:-fips)?\.([a-z0-9-]+)\./.exec(parsed.hostname)?.[1] ??
    /^([a-z0-9-]+)\.queue\./.exec(parsed.hostname)?.[1];
  if (!region || !account || !/^\d{12}$/.test(account) || !name || rest.length > 0) {
    throw new ConfigurationError(
      `Cannot derive a queue ARN from ${JSON.stringify(url)}: pass the ARN itself (arn:<partition>:sqs:<region>:<account>:<name>)`,
    );
  }
  return `arn:${partitionOf(region)}:sqs:${region}:${account}:${name}`;
}
