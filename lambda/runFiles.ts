/**
 * Many files, one stream of requests: the engine under `embed-batch run`
 * and the library's `embedFiles`.
 */
import { DEFAULT_MAX_OPEN, runAdmitted, weightOfBytes } from './batch/runAdmitted.ts';
import { isFatalForJob, JobInterruptedError } from './errors.ts';
import { packerFor, runJob } from './pipeline.ts';
import type { JobOptions, JobPorts, JobProgress } from './pipelineTypes.ts';
import type { UsageReport } from './write/UsageReport.ts';

/** One input file and the folder its output goes to. */
export interface FileTask {
  readonly sourceUri: string;
  readonly outputDir: string;
  /** Its size where known: larger files count more against `filesAtOnce`'s weight. */
  readonly bytes?: number;
}

/** How one file ended. */
export type FileOutcome =
  | {
      readonly status: 'done';
      readonly task: FileTask;
      readonly usage: UsageReport;
      readonly manifestUri: string;
    }
  | { readonly status: 'failed'; readonly task: FileTask; readonly error: unknown }
  /** Stopped by `ports.stop` with its progress checkpointed: the same call resumes it. */
  | { readonly status: 'interrupted'; readonly task: FileTask; readonly error: JobInterruptedError }
  /** Never started: an error that stops every file (`fatal`) came first, or the stop. */
  | { readonly status: 'not-started'; readonly task: FileTask };

/** Options of {@link runFiles}. */
export interface RunFilesOptions {
  readonly job: JobOptions;
  /** Shared by every file; `packer` is made here when absent, so rows of all files share requests. */
  readonly ports: Omit<JobPorts, 'onProgress'>;
  /** Most files at once (larger ones count more). @default 64 */
  readonly filesAtOnce?: number;
  /** Told each file's progress, by its index in `tasks`. */
  readonly onProgress?: (index: number, progress: JobProgress) => void;
  /** Told each file's outcome as it ends (before the call returns). */
  readonly onFileEnd?: (outcome: FileOutcome, index: number) => void | Promise<void>;
}

/** The progress of several files as one: their rows, tokens and retries added up. */
export function sumProgress(files: Iterable<JobProgress>, elapsedMs: number): JobProgress {
  const total = { rowsRead: 0, rowsEmbedded: 0, rowsRejected: 0, tokens: 0, retries: 0, elapsedMs };
  for (const p of files) {
    total.rowsRead += p.rowsRead;
    total.rowsEmbedded += p.rowsEmbedded;
    total.rowsRejected += p.rowsRejected;
    total.tokens += p.tokens;
    total.retries += p.retries;
  }
  return total;
}

/** What {@link runFiles} did. */
export interface RunFilesResult {
  /** One per task, in the order of `tasks`. */
  readonly outcomes: FileOutcome[];
  /** The error that stopped every file (bad credentials, unknown model); undefined when none did. */
  readonly fatal?: unknown;
}

/**
 * Embeds `tasks`, several at once, with one embedder and one packer: each
 * file keeps its own folder, checkpoint, usage and errors. A file that fails
 * fails alone; an error that would fail every file (`isFatalForJob`) stops
 * the others, after one request (the packer's first goes alone). `ports.stop`
 * stops every file at its checkpoint and starts no more.
 */
export async function runFiles(
  tasks: readonly FileTask[],
  options: RunFilesOptions,
): Promise<RunFilesResult> {
  const { job, ports } = options;
  const packer = ports.packer ?? packerFor(job, ports);
  const outcomes: (FileOutcome | undefined)[] = tasks.map(() => undefined);
  let fatal: unknown;
  const end = async (outcome: FileOutcome, index: number): Promise<void> => {
    outcomes[index] = outcome;
    await options.onFileEnd?.(outcome, index);
  };

  await runAdmitted(
    tasks,
    {
      weight: (task) => weightOfBytes(task.bytes),
      maxOpen: options.filesAtOnce ?? DEFAULT_MAX_OPEN,
      halted: () => fatal !== undefined || ports.stop?.aborted === true,
    },
    async (task, index) => {
      let outcome: FileOutcome;
      try {
        const { usage, manifestUri } = await runJob(task.sourceUri, task.outputDir, job, {
          ...ports,
          packer,
          onProgress: options.onProgress && ((progress) => options.onProgress?.(index, progress)),
        });
        outcome = { status: 'done', task, usage, manifestUri };
      } catch (error) {
        if (error instanceof JobInterruptedError) outcome = { status: 'interrupted', task, error };
        else {
          if (isFatalForJob(error)) fatal ??= error;
          outcome = { status: 'failed', task, error };
        }
      }
      await end(outcome, index);
    },
  );
  return {
    outcomes: tasks.map((task, i) => outcomes[i] ?? { status: 'not-started', task }),
    fatal,
  };
}
