import { defineJob } from '@glasswork/core';

// The job contract both sides import: the producer enqueues it, the worker attaches the handler.
export const sendReceipt = defineJob<{ orderId: string; email: string }>({
  name: 'send-receipt',
  queue: 'receipts',
});
