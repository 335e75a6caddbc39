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

/**
 * The known name closest to `typed` (a flag without its dashes, or a command),
 * or undefined when none is close: a known name it starts (3+ letters), or one
 * or two edits away (one for short names).
 */
export function closestName(typed: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of known) {
    const d = name.startsWith(typed) && typed.length >= 3 ? 0.5 : distance(typed, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  // Further than that is another word, not a typo.
  return bestDistance <= Math.max(1, Math.min(2, Math.floor(typed.length / 3))) ? best : undefined;
}

/** The known flag closest to `typed` (`--delimeter` -> `--delimiter`), or undefined when none is close. */
export function closestFlag(typed: string, known: readonly string[]): string | undefined {
  const name = closestName(typed.replace(/^-+/, '').split('=')[0]!, known);
  return name === undefined ? undefined : `--${name}`;
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
