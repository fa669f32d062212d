export { createApi } from './api.ts';
export type { RunningExample } from './app.ts';
export { startExample } from './app.ts';
export { sendWelcomeEmail } from './jobs.ts';
export { setupTelemetry, shutdownTelemetry } from './telemetry.ts';
export type { Mailer } from './worker.ts';
export { createMailWorker } from './worker.ts';
