/**
 * A 200 answer of any size, made up as it is sent: a test can answer 3 GB
 * without holding more than one 64 KiB chunk, and stops once the client hangs up.
 */
import type { ServerResponse } from 'node:http';

const CHUNK = Buffer.from('0.0123456789,'.repeat(5041)); // 65,533 bytes of plausible floats

/** What {@link streamHugeAnswer} sent before it finished or the client went away. */
export interface HugeAnswerProgress {
  /** Bytes written so far. */
  sent: number;
  /** True once the whole answer went out (false when the client hung up first). */
  finished: boolean;
}

/**
 * Sends `bytes` bytes of a JSON embeddings answer that never closes its array
 * (`{"data":[{"index":0,"embedding":[0.0123456789,...`), honouring
 * backpressure. With `announce`, the length is in `Content-Length`;
 * otherwise the answer is chunked.
 */
export function streamHugeAnswer(
  response: ServerResponse,
  bytes: number,
  options: { readonly announce?: boolean } = {},
): HugeAnswerProgress {
  const progress: HugeAnswerProgress = { sent: 0, finished: false };
  response.writeHead(200, {
    'Content-Type': 'application/json',
    ...(options.announce ? { 'Content-Length': String(bytes) } : {}),
  });
  const head = Buffer.from('{"data":[{"index":0,"embedding":[');
  response.write(head);
  progress.sent = head.length;
  const pump = (): void => {
    while (!response.destroyed && progress.sent < bytes) {
      const chunk = CHUNK.subarray(0, Math.min(CHUNK.length, bytes - progress.sent));
      progress.sent += chunk.length;
      if (!response.write(chunk)) {
        response.once('drain', pump);
        return;
      }
    }
    if (!response.destroyed) {
      progress.finished = true;
      response.end();
    }
  };
  pump();
  return progress;
}
