import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from '../../lambda/aws/loadConfig.ts';
import { ConfigError } from '../../lambda/errors.ts';

const ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:token-AbCdEf';

describe('Function: loadConfig', () => {
  it('applies the defaults for a deployed function with a secret', () => {
    // Act
    const config = loadConfig({ EMBEDDINGS_API_KEY_SECRET_ARN: ARN });

    // Assess
    expect(config).toMatchObject({
      baseUrl: 'https://openai.inference.de-txl.ionos.com/v1',
      model: 'BAAI/bge-m3',
      apiKey: { kind: 'secret', arn: ARN },
      inputPrefix: 'input/',
      outputPrefix: 'output/',
      format: 'parquet',
      textColumn: 'text',
      idColumn: 'id',
      keepColumns: [],
      timeMarginMs: 30_000,
      serviceName: 'embed-batch',
      metricsNamespace: 'EmbedBatch',
    });
    expect(config.rps).toBeUndefined();
    expect(config.concurrency).toBeUndefined();
    expect(config.rateTable).toBeUndefined();
  });

  it('reads the shared rate budget: RATE_TABLE with EMBED_RPS, EMBED_BURST and EMBED_TPM as its rate', () => {
    // Act
    const config = loadConfig({
      EMBEDDINGS_API_KEY_SECRET_ARN: ARN,
      RATE_TABLE: ' EmbedBatch-RateBudgetTable-1A2B3C ',
      EMBED_RPS: '5',
      EMBED_BURST: '10',
      EMBED_TPM: '600000',
    });

    // Assess
    expect(config).toMatchObject({
      rateTable: 'EmbedBatch-RateBudgetTable-1A2B3C',
      rps: 5,
      burst: 10,
      tpm: 600_000,
    });
  });

  it('reads, trims and normalises every variable', () => {
    // Act
    const config = loadConfig({
      EMBEDDINGS_BASE_URL: ' http://127.0.0.1:8080/v1/ ',
      EMBEDDINGS_MODEL: 'local/feature-hash',
      INPUT_PREFIX: '/uploads',
      OUTPUT_PREFIX: 'vectors',
      EMBED_RPS: '2.5',
      EMBED_TPM: '100000',
      EMBED_CONCURRENCY: '4',
      EMBED_BATCH_SIZE: '64',
      EMBED_FORMAT: 'Both',
      EMBED_DIMENSIONS: '256',
      EMBED_PART_ROWS: '1000',
      EMBED_KEEP_COLUMNS: 'title, sku,,',
      EMBED_TIME_MARGIN_MS: '0',
      POWERTOOLS_METRICS_NAMESPACE: 'Custom',
    });

    // Assess
    expect(config).toMatchObject({
      baseUrl: 'http://127.0.0.1:8080/v1',
      model: 'local/feature-hash',
      apiKey: { kind: 'none' },
      inputPrefix: 'uploads/',
      outputPrefix: 'vectors/',
      rps: 2.5,
      tpm: 100_000,
      concurrency: 4,
      batchSize: 64,
      format: 'both',
      dimensions: 256,
      rowsPerPart: 1000,
      keepColumns: ['title', 'sku'],
      timeMarginMs: 0,
      metricsNamespace: 'Custom',
    });
  });

  it('reads the reader settings EMBED_DELIMITER and EMBED_ENCODING, and requires a column EMBED_ID_COLUMN names', () => {
    // Act
    const set = loadConfig({
      EMBED_DELIMITER: ' semicolon ',
      EMBED_ENCODING: 'CP1252',
      EMBED_ID_COLUMN: 'sku',
    });
    const unset = loadConfig({});

    // Assess
    expect(set).toMatchObject({
      delimiter: ';',
      encoding: 'windows-1252',
      idColumn: 'sku',
      requireIdColumn: true,
    });
    expect(unset).toMatchObject({ idColumn: 'id', requireIdColumn: false });
    expect([unset.delimiter, unset.encoding]).toEqual([undefined, undefined]);
    // A lone tab is the delimiter, not blank space; so are `tab` and `\t`.
    for (const tab of ['\t', 'tab', '\\t']) expect(loadConfig({ EMBED_DELIMITER: tab }).delimiter).toBe('\t');
  });

  it('runs offline with neither an endpoint nor a token', () => {
    // Act
    const config = loadConfig({});

    // Assess
    expect(config.baseUrl).toBeUndefined();
    expect(config.model).toBe('local/feature-hash');
  });

  it.each([
    [{ EMBED_RPS: '0' }, 'Expected `EMBED_RPS` to be a positive number, got "0"'],
    [{ EMBED_TPM: '1.5' }, 'Expected `EMBED_TPM` to be a positive integer, got "1.5"'],
    [{ EMBED_CONCURRENCY: 'many' }, 'Expected `EMBED_CONCURRENCY` to be a positive integer, got "many"'],
    [{ EMBED_BATCH_SIZE: '-1' }, 'Expected `EMBED_BATCH_SIZE` to be a positive integer, got "-1"'],
    [{ EMBED_FORMAT: 'csv' }, 'Expected `EMBED_FORMAT` to be one of parquet, arrow, both, got csv'],
    [
      { EMBED_TIME_MARGIN_MS: '-5' },
      'Expected `EMBED_TIME_MARGIN_MS` to be a non-negative integer, got "-5"',
    ],
    [{ EMBEDDINGS_BASE_URL: 'ftp://x' }, 'Expected `EMBEDDINGS_BASE_URL` to be an http(s) URL, got ftp://x'],
    [
      { EMBEDDINGS_BASE_URL: 'htp://alice:PaSsWoRd42@host/v1' },
      'Expected `EMBEDDINGS_BASE_URL` to be an http(s) URL, got htp://[redacted]@host/v1',
    ],
    [
      { EMBEDDINGS_BASE_URL: 'https://alice:PaSsWoRd42@host/v1' },
      'Expected `EMBEDDINGS_BASE_URL` without credentials (got https://[redacted]@host/v1)',
    ],
    [{ EMBED_MAX_RETRY_WAIT: '0' }, 'Expected `EMBED_MAX_RETRY_WAIT` to be a positive number, got "0"'],
    [
      { EMBEDDINGS_API_KEY_SECRET_ARN: 'my-secret' },
      '`EMBEDDINGS_API_KEY_SECRET_ARN` to be a Secrets Manager ARN',
    ],
    [{ OUTPUT_PREFIX: '/' }, 'Expected `OUTPUT_PREFIX` to be a key prefix'],
    [
      { INPUT_PREFIX: 'output/in' },
      'Expected `INPUT_PREFIX` (output/in/) not to lie inside `OUTPUT_PREFIX` (output/)',
    ],
    [
      { EMBED_DELIMITER: ':' },
      'Expected `EMBED_DELIMITER` to be one of , ; tab | (or comma, semicolon, pipe), got ":"',
    ],
    [
      { EMBED_ENCODING: 'utf-32' },
      'Expected `EMBED_ENCODING` to be one of utf-8, utf-16le, utf-16be, windows-1252, latin1, got "utf-32"',
    ],
    [{ EMBED_KEEP_COLUMNS: 'text' }, 'Expected `EMBED_KEEP_COLUMNS` not to repeat the text or id column'],
    [{ EMBEDDINGS_MODEL: 'BAAI/bge-m3' }, 'EMBEDDINGS_MODEL BAAI/bge-m3 needs an endpoint'],
    [
      { RATE_TABLE: 'budget' },
      "Expected `EMBED_RPS` with `RATE_TABLE`: the shared budget's requests per second",
    ],
    [{ RATE_TABLE: 'a b', EMBED_RPS: '5' }, 'Expected `RATE_TABLE` to be a DynamoDB table name'],
    [{ EMBED_BURST: '10' }, 'Expected `EMBED_BURST` only together with `EMBED_RPS`'],
    [{ EMBED_RPS: '5', EMBED_BURST: '0' }, 'Expected `EMBED_BURST` to be a positive integer, got "0"'],
  ])('refuses %o naming the variable', (env, message) => {
    // Act & Assess
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('prefers the secret over a token in the environment, and keeps a token out of JSON and logs', () => {
    // Prepare
    const token = 'env-token-that-must-not-print';

    // Act
    const fromSecret = loadConfig({ EMBEDDINGS_API_KEY_SECRET_ARN: ARN, EMBEDDINGS_API_KEY: token });
    const fromEnv = loadConfig({ IONOS_API_TOKEN: token });

    // Assess
    expect(fromSecret.apiKey).toEqual({ kind: 'secret', arn: ARN });
    expect(fromEnv.apiKey.kind === 'env' && fromEnv.apiKey.value()).toBe(token);
    expect(JSON.stringify(fromEnv)).not.toContain(token);
    expect(JSON.stringify(describeConfig(fromEnv))).not.toContain(token);
    expect(describeConfig(fromEnv).apiKey).toBe('env IONOS_API_TOKEN');
  });
});
