/**
 * The fault script of `serve-local`: what goes wrong, and for which requests.
 */
import { ConfigError } from '../errors.ts';

/** Faults that are not an HTTP status. */
export const NAMED_FAULTS = ['reset', 'hang', 'wrong-count', 'nan', 'bad-json'] as const;

/**
 * One injected fault:
 * - an HTTP status 400-599: that status with an OpenAI-style JSON error body (429 also with the retry header);
 * - `reset`: the socket is destroyed (TCP RST) without an answer;
 * - `hang`: no answer ever; the socket is held until the client gives up or the server closes;
 * - `wrong-count`: 200 with the last embedding missing;
 * - `nan`: 200 with the first value of the first vector `null` (floats) or NaN (base64);
 * - `bad-json`: 200 with the body cut in half.
 */
export type Fault = number | (typeof NAMED_FAULTS)[number];

/** A fault and how many requests in a row get it. */
export interface FaultRun {
  readonly fault: Fault;
  readonly times: number;
}

const STATUS = /^[45]\d\d$/;
const REPEATED = /^(.*?)\s*x\s*(\d+)$/;

function describeKinds(): string {
  return `an HTTP status 400-599 or one of ${NAMED_FAULTS.join(', ')}`;
}

/**
 * Parses one fault kind: `"503"`, `"reset"`, `"hang"`, `"wrong-count"`, `"nan"`, `"bad-json"`.
 *
 * @param option - name of the option or flag the kind came from, for the error message.
 * @throws ConfigError naming the option when the kind is unknown.
 */
export function parseFault(kind: string, option = 'faults'): Fault {
  const text = kind.trim().toLowerCase();
  if (STATUS.test(text)) return Number(text);
  const named = NAMED_FAULTS.find((name) => name === text);
  if (named !== undefined) return named;
  throw new ConfigError(`Expected \`${option}\` to name ${describeKinds()}, got ${JSON.stringify(kind)}`);
}

/**
 * Parses a fault script: comma-separated kinds, each optionally repeated with
 * `xN`, e.g. `"500x3,reset,503x2,hang,wrong-count,429"`. Whitespace around items
 * is ignored; an empty script means no faults.
 *
 * @returns the runs in order, e.g. `[{ fault: 500, times: 3 }, { fault: 'reset', times: 1 }]`.
 * @throws ConfigError naming `faults`, the item and its position when the script is malformed.
 */
export function parseFaults(spec: string, option = 'faults'): FaultRun[] {
  if (spec.trim() === '') return [];
  return spec.split(',').map((raw, position) => {
    const item = raw.trim();
    const where = `item ${position + 1} of \`${option}\` (${JSON.stringify(spec)})`;
    if (item === '') throw new ConfigError(`Expected a fault at ${where}, got nothing`);
    const repeated = REPEATED.exec(item);
    const kind = repeated?.[1] ?? item;
    const times = repeated === null ? 1 : Number(repeated[2]);
    if (!Number.isSafeInteger(times) || times < 1) {
      throw new ConfigError(`Expected a repeat count of at least 1 at ${where}, got ${JSON.stringify(item)}`);
    }
    try {
      return { fault: parseFault(kind, option), times };
    } catch {
      throw new ConfigError(
        `Expected ${describeKinds()} (optionally xN) at ${where}, got ${JSON.stringify(item)}`,
      );
    }
  });
}
