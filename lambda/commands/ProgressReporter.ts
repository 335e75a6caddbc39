import type { JobProgress } from '../pipelineTypes.ts';

/**
 * Progress on stderr: one line redrawn in place on a terminal, plain lines
 * every `intervalMs` otherwise (logs, CI).
 */
export class ProgressReporter {
  #lastPrint = 0;
  #drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs: number = stream.isTTY ? 200 : 10_000,
  ) {}

  update = (progress: JobProgress): void => {
    const nowMs = performance.now();
    if (nowMs - this.#lastPrint < this.intervalMs) return;
    this.#lastPrint = nowMs;
    const line = format(this.label, progress);
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  };

  /** Ends the redrawn line so the next output starts on a fresh one. */
  done(): void {
    if (this.#drawn) this.stream.write('\r\x1b[2K');
    this.#drawn = false;
  }
}

function format(label: string, p: JobProgress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(p.rowsEmbedded / seconds) : 0;
  return `${label}: ${p.rowsRead} rows read, ${p.rowsEmbedded} embedded, ${p.rowsRejected} rejected, ${rate} rows/s, ${p.tokens} tokens, ${p.retries} retries`;
}
