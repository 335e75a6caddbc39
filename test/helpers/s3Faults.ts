import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';

/** Which GetObject bodies break, and where. */
export interface BodyFault {
  /** Only keys this accepts are broken. */
  readonly key: (key: string) => boolean;
  /** Bytes delivered before the body errors. */
  readonly afterBytes: number;
  /** How many matching reads break; later ones pass untouched. @default 1 */
  readonly times?: number;
}

/** Handle of an installed fault. */
export interface InstalledFault {
  /** Reads broken so far. */
  readonly broken: number;
  remove(): void;
}

const MIDDLEWARE_NAME = 'testBreakGetObjectBody';

/**
 * Makes GetObject bodies of matching keys fail after `afterBytes`, the way a
 * connection reset mid-download looks to the SDK's caller: headers and the
 * first bytes arrive, then the stream errors. Installed as client middleware,
 * so everything above the SDK (S3Store, the pipeline, the handler) is real.
 */
export function breakGetObjectBodies(client: S3Client, fault: BodyFault): InstalledFault {
  let remaining = fault.times ?? 1;
  let broken = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { Key?: string };
      if (context.commandName === 'GetObjectCommand' && remaining > 0 && fault.key(input.Key ?? '')) {
        remaining--;
        broken++;
        const output = result.output as { Body?: AsyncIterable<Uint8Array> };
        if (output.Body) output.Body = cutOff(output.Body, fault.afterBytes);
      }
      return result;
    },
    { step: 'initialize', name: MIDDLEWARE_NAME },
  );
  return {
    get broken() {
      return broken;
    },
    remove() {
      client.middlewareStack.remove(MIDDLEWARE_NAME);
    },
  };
}

function cutOff(body: AsyncIterable<Uint8Array>, afterBytes: number): Readable {
  async function* limited(): AsyncGenerator<Uint8Array> {
    let sent = 0;
    for await (const chunk of body) {
      const room = afterBytes - sent;
      if (chunk.byteLength >= room) {
        if (room > 0) yield chunk.subarray(0, room);
        break;
      }
      sent += chunk.byteLength;
      yield chunk;
    }
    throw Object.assign(new Error('read ECONNRESET (injected by the test)'), { code: 'ECONNRESET' });
  }
  return Readable.from(limited(), { objectMode: false });
}
