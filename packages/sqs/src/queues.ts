import { ConfigurationError } from '@glasswork/core';

/** DNS suffix of SQS endpoints per partition; others need an explicit `endpoint`. */
const PARTITION_DOMAINS: Readonly<Record<string, string>> = {
  aws: 'amazonaws.com',
  'aws-cn': 'amazonaws.com.cn',
  'aws-us-gov': 'amazonaws.com',
  'aws-iso': 'c2s.ic.gov',
  'aws-iso-b': 'sc2s.sgov.gov',
};

/** The parts of an SQS queue ARN. */
export interface QueueArn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
}

const ARN = /^arn:([a-z0-9-]+):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/;

/** Parses an SQS queue ARN, or returns undefined when `value` is not one. */
export function parseQueueArn(value: string): QueueArn | undefined {
  const match = ARN.exec(value);
  if (!match) return undefined;
  const [, partition, region, account, name] = match as unknown as [string, string, string, string, string];
  return { partition, region, account, name };
}

export const isQueueUrl = (value: string): boolean => /^https?:\/\//.test(value);

/** What SQS accepts as a queue name: 1 to 80 letters, digits, `-` and `_`, the `.fifo` suffix included. */
export const isQueueName = (value: string): boolean => /^(?=.{1,80}$)[A-Za-z0-9_-]+(?:\.fifo)?$/.test(value);

/**
 * The queue URL of an SQS queue ARN: `https://sqs.<region>.<partition domain>/<account>/<name>`, or
 * `<endpoint>/<account>/<name>` with an explicit endpoint (an emulator, a VPC endpoint).
 */
export function queueUrlFromArn(arn: string, options: { endpoint?: string | undefined } = {}): string {
  const parsed = parseQueueArn(arn);
  if (!parsed) {
    throw new ConfigurationError(
      `"${arn}" is not an SQS queue ARN: expected arn:<partition>:sqs:<region>:<account>:<queue name>`,
    );
  }
  if (options.endpoint) return `${options.endpoint.replace(/\/+$/, '')}/${parsed.account}/${parsed.name}`;
  const domain = PARTITION_DOMAINS[parsed.partition];
  if (!domain) {
    throw new ConfigurationError(
      `Unknown AWS partition "${parsed.partition}" in ${arn}: pass endpoint (the SQS endpoint of that partition) to sqsDriver`,
    );
  }
  return `https://sqs.${parsed.region}.${domain}/${parsed.account}/${parsed.name}`;
}

/** The queue name at the end of a queue URL. */
export const queueNameFromUrl = (url: string): string => url.replace(/\/+$/, '').split('/').at(-1) ?? url;
