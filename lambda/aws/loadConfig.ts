import { OFFLINE_MODEL } from '../embed/featureHash.ts';
import { IONOS_BASE_URL } from '../embed/modelFacts.ts';
import { withoutUrlCredentials } from '../embed/redactSecret.ts';
import { ConfigError } from '../errors.ts';
import type { CsvDelimiter } from '../read/CsvDelimiter.ts';
import type { InputEncoding } from '../read/transcodeToUtf8.ts';
import { parseDelimiter, parseEncoding } from '../resolveJobOptions.ts';
import type { OutputFormat } from '../types.ts';

/**
 * Where the endpoint's API token comes from. The token itself is never a
 * plain field: for `env` it sits behind a function, which neither
 * `JSON.stringify` (so no log line) nor a spread copies as a value.
 */
export type ApiKeySource =
  /** `EMBEDDINGS_API_KEY_SECRET_ARN`: read from Secrets Manager once per container. */
  | { readonly kind: 'secret'; readonly arn: string }
  /** `EMBEDDINGS_API_KEY` or `IONOS_API_TOKEN`, for local use. */
  | { readonly kind: 'env'; readonly variable: string; readonly value: () => string }
  /** No token: an endpoint without auth, or the offline embedder. */
  | { readonly kind: 'none' };

/** The Lambda function's settings, read once per container from its environment. */
export interface LambdaConfig {
  /** `EMBEDDINGS_BASE_URL`; IONOS's when a token is configured without one; undefined: the offline embedder. */
  readonly baseUrl?: string;
  /** `EMBEDDINGS_MODEL`. @default 'BAAI/bge-m3' ('local/feature-hash' offline) */
  readonly model: string;
  readonly apiKey: ApiKeySource;
  /** `INPUT_PREFIX`, normalised to end in `/` (or '' for the whole bucket). @default 'input/' */
  readonly inputPrefix: string;
  /** `OUTPUT_PREFIX`, normalised to end in `/`. @default 'output/' */
  readonly outputPrefix: string;
  /**
   * `EMBED_RPS`: requests per second of this invocation; with `RATE_TABLE`,
   * of the budget all functions share. @default the embedder's (5 on IONOS)
   */
  readonly rps?: number;
  /** `EMBED_BURST`: requests that may go at once after an idle spell, with `EMBED_RPS`. @default 1 (evenly paced) */
  readonly burst?: number;
  /** `EMBED_TPM`: tokens per minute of this invocation; with `RATE_TABLE`, of the shared budget. @default no budget */
  readonly tpm?: number;
  /**
   * `RATE_TABLE`: the DynamoDB table of the rate budget shared by every
   * function (and command line) that names it; `EMBED_RPS`, `EMBED_BURST` and
   * `EMBED_TPM` are then that budget's. @default none: this invocation's own limiter
   */
  readonly rateTable?: string;
  /** `EMBED_CONCURRENCY`: requests in flight. @default the pipeline's (8) */
  readonly concurrency?: number;
  /** `EMBED_BATCH_SIZE`: inputs per request. @default the pipeline's (128 on IONOS, else 256) */
  readonly batchSize?: number;
  /** `EMBED_FORMAT`. @default 'parquet' */
  readonly format: OutputFormat;
  /**
   * `EMBED_MAX_RETRY_WAIT`: seconds one batch may spend waiting between its
   * attempts; a longer Retry-After fails the job at once. @default 300
   */
  readonly maxRetryWait?: number;
  /** `EMBED_DIMENSIONS`: requested output dimensions. @default the model's */
  readonly dimensions?: number;
  /** `EMBED_PART_ROWS`: rows per part file. @default the pipeline's (about 32 MiB of vectors) */
  readonly rowsPerPart?: number;
  /** `EMBED_TEXT_COLUMN`. @default 'text' */
  readonly textColumn: string;
  /** `EMBED_ID_COLUMN`. @default 'id' */
  readonly idColumn: string;
  /**
   * `EMBED_ID_COLUMN` was set: a file without that column (a CSV header, the
   * first JSONL records) fails instead of being numbered, as `--id-column` does.
   */
  readonly requireIdColumn: boolean;
  /**
   * `EMBED_DELIMITER`: the CSV field separator, `,` `;` `|` or `tab` (also
   * `\t`, `comma`, `semicolon`, `pipe`). @default sniffed from the header (tab for `.tsv`)
   */
  readonly delimiter?: CsvDelimiter;
  /**
   * `EMBED_ENCODING`: the inputs' text encoding (`utf-8`, `utf-16le`,
   * `utf-16be`, `windows-1252`, `latin1`, or an alias such as `cp1252`); a byte
   * order mark wins. @default 'utf-8'
   */
  readonly encoding?: InputEncoding;
  /** `EMBED_KEEP_COLUMNS`, comma-separated. @default [] */
  readonly keepColumns: readonly string[];
  /**
   * `EMBED_TIME_MARGIN_MS`: a job is aborted this long before Lambda's time
   * limit, leaving room to log, flush metrics and answer SQS. @default 30000
   */
  readonly timeMarginMs: number;
  /**
   * `QUEUE_URL`: the job's own queue. A job short of time checkpoints and
   * sends its continuation here. Unset: it fails with a TimeLimitError and the
   * retry resumes from the checkpoint.
   */
  readonly queueUrl?: string;
  /** `EMBED_CHECKPOINT_INTERVAL_MS`: least time between two checkpoints of a job. @default 10000 */
  readonly checkpointIntervalMs?: number;
  /**
   * `STATE_MACHINE_ARN`: the large-file state machine (a Step Functions
   * Distributed Map over byte-range shards). Unset: every file is embedded inline.
   */
  readonly stateMachineArn?: string;
  /**
   * `LARGE_FILE_BYTES`: objects over this size go to the state machine
   * (when set; gzip objects never do: they cannot be split). @default 32 MiB
   */
  readonly largeFileBytes: number;
  /** `SHARD_BYTES`: the planner's target shard size in bytes. @default 64 MiB */
  readonly shardBytes: number;
  /**
   * `SHARD_RECORDS`: most records in one shard, so a shard fits one
   * invocation at the per-worker request rate.
   * @default `EMBED_RPS` x batch size x 600 s when `EMBED_RPS` is set, else no limit
   */
  readonly shardRecords?: number;
  /** `POWERTOOLS_SERVICE_NAME`. @default 'embed-batch' */
  readonly serviceName: string;
  /** `POWERTOOLS_METRICS_NAMESPACE`. @default 'EmbedBatch' */
  readonly metricsNamespace: string;
}

const FORMATS: readonly OutputFormat[] = ['parquet', 'arrow', 'both'];
/** See README-distributed.md: about what one invocation embeds in 15 minutes at IONOS's default share. */
const DEFAULT_LARGE_FILE_BYTES = 32 * 1024 * 1024;
const DEFAULT_SHARD_BYTES = 64 * 1024 * 1024;

/**
 * Reads, trims and validates the function's environment into one typed
 * config. Empty values count as unset. Every message names the variable.
 *
 * @throws ConfigError on a missing or malformed value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LambdaConfig {
  const apiKey = apiKeySource(env);
  const baseUrlRaw = clean(env.EMBEDDINGS_BASE_URL);
  if (baseUrlRaw !== undefined) httpUrl(baseUrlRaw, 'EMBEDDINGS_BASE_URL');
  const offline = baseUrlRaw === undefined && apiKey.kind === 'none';
  const model = clean(env.EMBEDDINGS_MODEL) ?? (offline ? OFFLINE_MODEL : 'BAAI/bge-m3');
  if (offline && model !== OFFLINE_MODEL) {
    throw new ConfigError(
      `EMBEDDINGS_MODEL ${model} needs an endpoint: set EMBEDDINGS_BASE_URL or EMBEDDINGS_API_KEY_SECRET_ARN; without them only the offline model ${OFFLINE_MODEL} runs`,
    );
  }
  const baseUrl = offline ? undefined : (baseUrlRaw ?? IONOS_BASE_URL).replace(/\/+$/, '');

  const inputPrefix = prefix(env.INPUT_PREFIX, 'input/');
  const outputPrefix = prefix(env.OUTPUT_PREFIX, 'output/');
  if (outputPrefix === '') {
    throw new ConfigError('Expected `OUTPUT_PREFIX` to be a key prefix like output/, got an empty value');
  }
  // Inputs inside the output prefix would never be processed (outputs are ignored, to avoid loops).
  if (inputPrefix.startsWith(outputPrefix)) {
    throw new ConfigError(
      `Expected \`INPUT_PREFIX\` (${inputPrefix}) not to lie inside \`OUTPUT_PREFIX\` (${outputPrefix})`,
    );
  }

  const format = (clean(env.EMBED_FORMAT)?.toLowerCase() ?? 'parquet') as OutputFormat;
  if (!FORMATS.includes(format)) {
    throw new ConfigError(
      `Expected \`EMBED_FORMAT\` to be one of ${FORMATS.join(', ')}, got ${env.EMBED_FORMAT}`,
    );
  }
  const textColumn = clean(env.EMBED_TEXT_COLUMN) ?? 'text';
  const idColumn = clean(env.EMBED_ID_COLUMN) ?? 'id';
  // A lone tab is a delimiter, not blank space to trim away.
  const delimiterRaw = env.EMBED_DELIMITER === '\t' ? '\t' : clean(env.EMBED_DELIMITER);
  const delimiter = delimiterRaw === undefined ? undefined : parseDelimiter(delimiterRaw, 'EMBED_DELIMITER');
  const encodingRaw = clean(env.EMBED_ENCODING);
  const encoding = encodingRaw === undefined ? undefined : parseEncoding(encodingRaw, 'EMBED_ENCODING');
  const keepColumns = (clean(env.EMBED_KEEP_COLUMNS) ?? '')
    .split(',')
    .map((column) => column.trim())
    .filter((column) => column !== '');
  if (keepColumns.includes(textColumn) || keepColumns.includes(idColumn)) {
    throw new ConfigError('Expected `EMBED_KEEP_COLUMNS` not to repeat the text or id column');
  }

  const rps = positiveNumber(env, 'EMBED_RPS');
  const burst = positiveInteger(env, 'EMBED_BURST');
  if (burst !== undefined && rps === undefined) {
    throw new ConfigError('Expected `EMBED_BURST` only together with `EMBED_RPS`');
  }
  const rateTable = clean(env.RATE_TABLE);
  if (rateTable !== undefined) {
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(rateTable)) {
      throw new ConfigError(
        `Expected \`RATE_TABLE\` to be a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -), got ${JSON.stringify(rateTable)}`,
      );
    }
    if (rps === undefined) {
      throw new ConfigError(
        "Expected `EMBED_RPS` with `RATE_TABLE`: the shared budget's requests per second",
      );
    }
  }

  return {
    baseUrl,
    model,
    apiKey,
    inputPrefix,
    outputPrefix,
    rps,
    burst,
    tpm: positiveInteger(env, 'EMBED_TPM'),
    rateTable,
    concurrency: positiveInteger(env, 'EMBED_CONCURRENCY'),
    batchSize: positiveInteger(env, 'EMBED_BATCH_SIZE'),
    format,
    dimensions: positiveInteger(env, 'EMBED_DIMENSIONS'),
    maxRetryWait: positiveNumber(env, 'EMBED_MAX_RETRY_WAIT'),
    rowsPerPart: positiveInteger(env, 'EMBED_PART_ROWS'),
    textColumn,
    idColumn,
    requireIdColumn: clean(env.EMBED_ID_COLUMN) !== undefined,
    delimiter,
    encoding,
    keepColumns,
    timeMarginMs: nonNegativeInteger(env, 'EMBED_TIME_MARGIN_MS') ?? 30_000,
    queueUrl: clean(env.QUEUE_URL),
    checkpointIntervalMs: positiveInteger(env, 'EMBED_CHECKPOINT_INTERVAL_MS'),
    stateMachineArn: stateMachineArn(env),
    largeFileBytes: positiveInteger(env, 'LARGE_FILE_BYTES') ?? DEFAULT_LARGE_FILE_BYTES,
    shardBytes: positiveInteger(env, 'SHARD_BYTES') ?? DEFAULT_SHARD_BYTES,
    shardRecords: positiveInteger(env, 'SHARD_RECORDS'),
    serviceName: clean(env.POWERTOOLS_SERVICE_NAME) ?? 'embed-batch',
    metricsNamespace: clean(env.POWERTOOLS_METRICS_NAMESPACE) ?? 'EmbedBatch',
  };
}

/**
 * What may be logged of a config: everything but the token, with the key
 * source reduced to where it comes from.
 */
export function describeConfig(config: LambdaConfig): Record<string, unknown> {
  const { apiKey, ...rest } = config;
  const source =
    apiKey.kind === 'secret'
      ? `secret ${apiKey.arn}`
      : apiKey.kind === 'env'
        ? `env ${apiKey.variable}`
        : 'none';
  return { ...rest, apiKey: source };
}

/**
 * The secret ARN wins over a token in the environment: the deployed function
 * must not quietly run on a key someone left in a plain variable.
 */
function apiKeySource(env: NodeJS.ProcessEnv): ApiKeySource {
  const arn = clean(env.EMBEDDINGS_API_KEY_SECRET_ARN);
  if (arn !== undefined) {
    if (!/^arn:aws[a-z-]*:secretsmanager:/.test(arn)) {
      throw new ConfigError(
        `Expected \`EMBEDDINGS_API_KEY_SECRET_ARN\` to be a Secrets Manager ARN (arn:aws:secretsmanager:...), got ${arn}`,
      );
    }
    return { kind: 'secret', arn };
  }
  for (const variable of ['EMBEDDINGS_API_KEY', 'IONOS_API_TOKEN']) {
    const token = clean(env[variable]);
    if (token !== undefined) return { kind: 'env', variable, value: () => token };
  }
  return { kind: 'none' };
}

function stateMachineArn(env: NodeJS.ProcessEnv): string | undefined {
  const arn = clean(env.STATE_MACHINE_ARN);
  if (arn !== undefined && !/^arn:aws[a-z-]*:states:[^:]*:\d{12}:stateMachine:[A-Za-z0-9_-]+$/.test(arn)) {
    throw new ConfigError(
      `Expected \`STATE_MACHINE_ARN\` to be a Step Functions state machine ARN (arn:aws:states:...:stateMachine:...), got ${arn}`,
    );
  }
  return arn;
}

function clean(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** Key prefixes: no leading `/` (S3 keys have none), and a trailing `/` so `input` cannot match `input2/`. */
function prefix(raw: string | undefined, fallback: string): string {
  if (raw === undefined) return fallback;
  const value = raw.trim().replace(/^\/+/, '');
  if (value === '') return '';
  return value.endsWith('/') ? value : `${value}/`;
}

function httpUrl(value: string, name: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new ConfigError(`Expected \`${name}\` to be an http(s) URL, got ${withoutUrlCredentials(value)}`);
  }
  // The URL is logged with the configuration: a password in it would be too.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      `Expected \`${name}\` without credentials (got ${withoutUrlCredentials(value)}); put the token in the secret`,
    );
  }
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = clean(env[name]);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`Expected \`${name}\` to be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = clean(env[name]);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`Expected \`${name}\` to be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function nonNegativeInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = clean(env[name]);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`Expected \`${name}\` to be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}
