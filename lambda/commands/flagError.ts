import { ConfigError } from '../errors.ts';

/** Edit distance of two short strings (flag names), for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known flag closest to `typed` (`--delimeter` -> `--delimiter`), or undefined when none is close. */
export function closestFlag(typed: string, known: readonly string[]): string | undefined {
  const name = typed.replace(/^-+/, '').split('=')[0]!;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const flag of known) {
    const d = flag.startsWith(name) && name.length >= 3 ? 0.5 : distance(name, flag);
    if (d < bestDistance) {
      best = flag;
      bestDistance = d;
    }
  }
  // Two edits in a long name, one in a short one: further than that is another word.
  return best !== undefined && bestDistance <= Math.min(2, Math.floor(name.length / 3))
    ? `--${best}`
    : undefined;
}

/**
 * Turns an error of `node:util` `parseArgs` into a `ConfigError` that says
 * what to type instead: an unknown flag gets the closest known one.
 *
 * @param command The command whose flags these are, e.g. `run`.
 * @param known Its flag names, without dashes.
 */
export function flagError(error: unknown, command: string, known: readonly string[]): ConfigError {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
  if (unknown !== undefined) {
    const suggestion = closestFlag(unknown, known);
    const hint = suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
    return new ConfigError(
      `${command}: unknown option ${unknown}${hint} (see embed-batch ${command} --help)`,
      {
        cause: error,
      },
    );
  }
  // parseArgs' other messages are clear but long; the first sentence says it.
  return new ConfigError(`${command}: ${message.split('. ')[0]} (see embed-batch ${command} --help)`, {
    cause: error,
  });
}
