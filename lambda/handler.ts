import type { Context, SQSBatchResponse } from 'aws-lambda';
import { createHandler, type EmbedEvent, type EmbedHandler } from './lambda/createHandler.ts';
import { loadConfig } from './lambda/loadConfig.ts';
import { readSecret } from './lambda/readSecret.ts';
import { createS3Client } from './store/createS3Client.ts';
import { S3Store } from './store/S3Store.ts';

let wired: EmbedHandler | undefined;

/**
 * Lambda entry point for SQS batches of S3 notifications (the deployed path)
 * and plain S3 notification events. Only wiring: on the first invocation of a
 * container it reads the configuration and builds the real S3 store, secret
 * reader, logger and metrics; later invocations reuse them.
 *
 * Wiring happens on first use rather than at import, so a bad setting is
 * reported by the invocation (and retried after a fix) instead of breaking
 * the module load, and importing this file has no side effects.
 */
export async function handler(event: EmbedEvent, context: Context): Promise<SQSBatchResponse | undefined> {
  wired ??= createHandler({
    config: loadConfig(process.env),
    store: new S3Store(createS3Client(process.env)),
    readSecret: (arn) => readSecret(arn),
  });
  return wired(event, context);
}
