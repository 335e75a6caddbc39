import type { JobProgress } from '../pipelineTypes.ts';
import { sumProgress } from '../runFiles.ts';

/**
 * Progress on stderr: one line redrawn in place on a terminal, plain lines
 * every `intervalMs` otherwise (logs, CI).
 */
export class ProgressReporter {
  #lastPrint = 0;
  #drawn = false;

  constructor(
    private readonly label: string | (() => string),
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs: number = stream.isTTY ? 200 : 10_000,
  ) {}

  update = (progress: JobProgress): void => {
    const nowMs = performance.now();
    if (nowMs - this.#lastPrint < this.intervalMs) return;
    this.#lastPrint = nowMs;
    const line = format(typeof this.label === 'string' ? this.label : this.label(), progress);
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

/**
 * Progress of a command over many files at once: one line with the files
 * done out of all, and the rows, tokens and retries of all files together.
 */
export class FilesProgress {
  readonly #reporter: ProgressReporter;
  readonly #byFile = new Map<number, JobProgress>();
  readonly #startedMs = performance.now();
  #done = 0;

  /** `single`: the one file's name, shown instead of a count of files. */
  constructor(
    single: string | undefined,
    readonly total: number,
    stream: NodeJS.WriteStream = process.stderr,
    intervalMs?: number,
  ) {
    this.#reporter = new ProgressReporter(
      () => single ?? `[${this.#done}/${this.total} files]`,
      stream,
      intervalMs ?? (stream.isTTY ? 200 : 10_000),
    );
  }

  update(file: number, progress: JobProgress): void {
    this.#byFile.set(file, progress);
    this.#reporter.update(sumProgress(this.#byFile.values(), performance.now() - this.#startedMs));
  }

  /** A file ended (completed or not); its rows stay in the sums. */
  fileDone(): void {
    this.#done++;
  }

  /** Ends the redrawn line. */
  end(): void {
    this.#reporter.done();
  }
}
