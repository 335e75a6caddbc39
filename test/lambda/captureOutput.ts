/** Everything written to stdout and stderr while capturing. */
export interface CapturedOutput {
  /** All text written so far. */
  text(): string;
  /** Each JSON line written so far (Powertools Logger records, EMF documents), parsed. */
  json(): Record<string, unknown>[];
  /** Stops capturing; later writes go to the terminal again. */
  restore(): void;
}

/**
 * Captures process.stdout and process.stderr. Powertools' Logger and Metrics
 * write through a `Console` bound to these very streams, so their output is
 * caught too, as is anything printed by the SDKs or `console.*`.
 */
export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  return {
    text: () => chunks.join(''),
    json: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    restore: () => {
      streams.forEach((stream, i) => {
        stream.write = originals[i] as typeof stream.write;
      });
    },
  };
}
