import { ConfigError, EmbedBatchError } from '../errors.ts';

/** What a command may touch of the outside world; tests pass their own. */
export interface Io {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** The process's own streams and environment. */
export function processIo(): Io {
  return {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    cwd: process.cwd(),
  };
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
