import type { RetryEvent } from '../embed/ResilientEmbedder.ts';
import { RetryAnnouncer } from '../embed/RetryAnnouncer.ts';
import { ConfigError, EmbedBatchError } from '../errors.ts';

/** What a command may touch of the outside world; tests pass their own. */
export interface Io {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Whether stderr is a terminal (a progress line may be drawn there). @default false */
  readonly stderrIsTTY?: boolean;
}

/** The process's own streams and environment. */
export function processIo(): Io {
  return {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    cwd: process.cwd(),
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

/** Clears a progress line drawn in place (see ProgressReporter), so a notice starts at column 0. */
const CLEAR_LINE = '\r\x1b[2K';

/**
 * The embedder's `onRetry` for a command: retries announced on stderr, about
 * one line per 5 s, e.g. `embed-batch: retrying in 8 s (attempt 3/9): the endpoint failed (HTTP 503)`.
 * On a terminal the line first clears the progress line; the next progress update redraws it.
 */
export function retryNotices(io: Io): (event: RetryEvent) => void {
  const prefix = io.stderrIsTTY === true ? CLEAR_LINE : '';
  return new RetryAnnouncer((notice) => io.stderr(`${prefix}embed-batch: ${notice.line}`)).onRetry;
}

/** One line for stderr: what failed and why (naming `context` once), never a stack for errors we raised on purpose. */
export function errorLine(error: unknown, context?: string): string {
  const message =
    error instanceof EmbedBatchError || error instanceof Error
      ? error.message
      : `unexpected failure: ${String(error)}`;
  const oneLine = message.replace(/\s*\n\s*/g, ' ');
  // Most messages already name the file they are about: name it once.
  const prefix = context && !oneLine.includes(context) ? `${context}: ` : '';
  return `embed-batch: error: ${prefix}${oneLine}`;
}

/** Parses a numeric flag, or undefined when it was not given. */
export function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new ConfigError(`Expected \`${flag}\` to be a number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}
