/** The last stdout line of a peer client: a JSON object of this shape. */
export interface ClientReport {
  /** Input rows read. */
  readonly rows: number;
  /** Rows that got a vector. */
  readonly embedded: number;
  /** Rows without a vector (a failed batch fails all its rows). */
  readonly failed: number;
  readonly dimensions: number;
  /** From before reading the input to the last vector in memory. */
  readonly seconds: number;
}

/** Options every peer client takes from its command line. */
export interface ClientArgs {
  readonly input: string;
  readonly baseUrl: string;
  readonly model: string;
  /** Inputs per request. */
  readonly batchSize: number;
}

/** Parses `<input.csv> <baseUrl> <model> <batchSize>`. */
export function parseClientArgs(argv: readonly string[]): ClientArgs {
  const [input, baseUrl, model, batchSize] = argv;
  if (input === undefined || baseUrl === undefined || model === undefined || batchSize === undefined) {
    throw new Error('Usage: <client>.ts <input.csv> <baseUrl> <model> <batchSize>');
  }
  return { input, baseUrl, model, batchSize: Number(batchSize) };
}
