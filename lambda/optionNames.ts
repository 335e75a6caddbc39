/**
 * What a validation message calls each setting: the flag a CLI user typed,
 * or the property a library caller set. The same validators serve both, and
 * take one of these tables.
 */

/** The settings that the shared validators (resolveJobOptions, endpointConfig, createEmbedder) check. */
export type OptionName =
  | 'baseUrl'
  | 'model'
  | 'dimensions'
  | 'rps'
  | 'burst'
  | 'tpm'
  | 'concurrency'
  | 'timeoutMs'
  | 'maxRetryWait'
  | 'wireEncoding'
  | 'rateBudget'
  | 'textColumn'
  | 'idColumn'
  | 'keepColumns'
  | 'format'
  | 'batchSize'
  | 'maxBatchTokens'
  | 'maxBatchBytes'
  | 'rowsPerPart'
  | 'maxRecordBytes'
  | 'delimiter'
  | 'encoding'
  | 'maxRejected'
  | 'checkpointSeconds';

export type OptionNames = Readonly<Record<OptionName, string>>;

/** `embed-batch run` and its siblings: the flags. */
export const CLI_FLAGS: OptionNames = {
  baseUrl: '--base-url',
  model: '--model',
  dimensions: '--dimensions',
  rps: '--rps',
  burst: '--burst',
  tpm: '--tpm',
  concurrency: '--concurrency',
  timeoutMs: '--timeout-ms',
  maxRetryWait: '--max-retry-wait',
  wireEncoding: 'encoding',
  rateBudget: '--rate-table',
  textColumn: '--text-column',
  idColumn: '--id-column',
  keepColumns: '--keep-columns',
  format: '--format',
  batchSize: '--batch-size',
  maxBatchTokens: '--batch-tokens',
  maxBatchBytes: '--batch-bytes',
  rowsPerPart: '--part-rows',
  maxRecordBytes: '--max-record-bytes',
  delimiter: '--delimiter',
  encoding: '--encoding',
  maxRejected: '--max-rejected',
  checkpointSeconds: '--checkpoint-seconds',
};

/** The library (`embedFiles`, `embedFile`, `createEmbedder`, `search`): the option properties. */
export const API_OPTIONS: OptionNames = {
  baseUrl: 'baseUrl',
  model: 'model',
  dimensions: 'dimensions',
  rps: 'rps',
  burst: 'burst',
  tpm: 'tpm',
  concurrency: 'concurrency',
  timeoutMs: 'timeoutMs',
  maxRetryWait: 'maxRetryWait',
  wireEncoding: 'encoding',
  rateBudget: 'rateBudget',
  textColumn: 'textColumn',
  idColumn: 'idColumn',
  keepColumns: 'keepColumns',
  format: 'format',
  batchSize: 'batchSize',
  maxBatchTokens: 'maxBatchTokens',
  maxBatchBytes: 'maxBatchBytes',
  rowsPerPart: 'partRows',
  maxRecordBytes: 'maxRecordBytes',
  delimiter: 'delimiter',
  encoding: 'encoding',
  maxRejected: 'maxRejected',
  checkpointSeconds: 'checkpointSeconds',
};
