import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

// The floor of a producer: the SDK's SendMessage with a JSON body, nothing else.
const sqs = new SQSClient({});

export const handler = async (event: { orderId: string; email: string }) => {
  const out = await sqs.send(
    new SendMessageCommand({ QueueUrl: process.env.QUEUE_URL, MessageBody: JSON.stringify(event) }),
  );
  return { statusCode: 202, body: JSON.stringify({ id: out.MessageId }) };
};
