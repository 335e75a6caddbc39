/** Shapes of the benchmark results (bench/results/*.json) and what every section gets. */
import type { BenchOptions, Section } from './benchOptions.ts';

/** What every section gets from run.ts. */
export interface BenchContext {
  readonly options: BenchOptions;
  /** A temp folder for inputs and outputs, removed at the end unless `--keep`. */
  readonly workDir: string;
  /** Progress on stderr. */
  readonly log: (line: string) => void;
}

/** One contender's run in the throughput section. */
export interface ContenderRun {
  readonly rows: number;
  readonly embedded: number;
  readonly failedRows: number;
  /** Work time: the job's own duration (embed-batch usage.json), or the client's from reading to the last vector. */
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** Whole client process, startup included. */
  readonly cpuSeconds: number;
  readonly maxRssBytes: number;
  /** What the endpoint saw during this run. */
  readonly endpoint: {
    readonly requests: number;
    readonly ok: number;
    readonly throttled: number;
    readonly tooLarge: number;
    readonly other: number;
    /** Seconds between the first and the last arrival. */
    readonly spanSeconds: number;
  };
}

export interface ThroughputResult {
  readonly server: {
    readonly rps: number;
    readonly burst: number;
    readonly maxInputs: number;
    readonly latencyMs: number;
    readonly latencyPerInputMs: number;
  };
  readonly rows: number;
  readonly ceilingRowsPerSecond: number;
  readonly contenders: readonly {
    readonly name: string;
    readonly description: string;
    readonly runs: readonly ContenderRun[];
  }[];
}

/** One end-to-end `embed-batch run` against a zero-latency endpoint. */
export interface CpuRun {
  readonly rowsPerSecond: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly maxRssBytes: number;
}

/** CPU seconds per 100k rows of each stage, measured in one process (see stages/measureStages.ts). */
export interface StageCosts {
  readonly read: number;
  readonly hash: number;
  readonly request: number;
  readonly parse: number;
  readonly decode: number;
  readonly arrow: number;
  readonly ipc: number;
  readonly parquet: number;
}

export interface CpuCase {
  readonly dimensions: number;
  readonly encoding: 'base64' | 'float';
  readonly rows: number;
  readonly runs: readonly CpuRun[];
  /** Stage split, one entry per run. */
  readonly stages: readonly StageCosts[];
}

export interface CpuResult {
  /** CPU seconds of `embed-batch run` on a one-row file: process startup, module loading, one request. */
  readonly startupCpuSeconds: readonly number[];
  readonly cases: readonly CpuCase[];
}

export interface MemoryCase {
  readonly rows: number;
  readonly dimensions: number;
  readonly runs: readonly CpuRun[];
}

export interface MemoryResult {
  readonly cases: readonly MemoryCase[];
}

/** Output bytes of one table of `rows` rows, by format. */
export interface SizeCase {
  readonly dimensions: number;
  /** `feature-hash`: what serve-local answers (sparse); `dense`: random unit vectors, like real models. */
  readonly vectors: 'feature-hash' | 'dense';
  readonly rows: number;
  readonly parquetBytes: number;
  readonly parquetPlainBytes: number;
  readonly arrowBytes: number;
  /** Column encodings of the embedding leaf in the written file, as DuckDB reads them. */
  readonly embeddingEncodings: string;
}

export interface SizeResult {
  readonly cases: readonly SizeCase[];
}

/** One run of the budget section: `workers` processes at once in one mode. */
export interface BudgetRun {
  readonly mode: string;
  readonly workers: number;
  readonly round: number;
  /** What the endpoint saw: every arrival, those answered 200, and 429s. */
  readonly requests: number;
  readonly ok: number;
  readonly throttled: number;
  /** Seconds between the first and the last arrival. */
  readonly spanSeconds: number;
  /** Rows embedded over that span, all workers together. */
  readonly rowsPerSecond: number;
  readonly failedRows: number;
  /** Calls the local DynamoDB received during the run (0 for the static splits). */
  readonly dynamoCalls: number;
}

export interface BudgetResult {
  readonly server: { readonly rps: number; readonly burst: number; readonly latencyMs: number };
  readonly batch: number;
  readonly requestsPerWorker: number;
  readonly ceilingRowsPerSecond: number;
  readonly modes: readonly { readonly name: string; readonly description: string }[];
  readonly runs: readonly BudgetRun[];
}

/** Where and when the figures were taken. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  readonly os: string;
  readonly loadAverage: readonly number[];
}

/** One section's latest result, with where it was taken. */
export interface SectionRecord<T> {
  readonly date: string;
  readonly label: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly runs: number;
  readonly result: T;
}

/** bench/results/latest.json: the latest result of each section, so `--only` updates one. */
export type LatestResults = {
  throughput?: SectionRecord<ThroughputResult>;
  cpu?: SectionRecord<CpuResult>;
  memory?: SectionRecord<MemoryResult>;
  size?: SectionRecord<SizeResult>;
  budget?: SectionRecord<BudgetResult>;
} & Partial<Record<Section, unknown>>;
