import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/aws/loadConfig.ts';
import { ConfigError } from '../../lambda/errors.ts';
import { loadReindexConfig } from '../../lambda/reindex/loadReindexConfig.ts';

/** The variables the stack gives the reindex function. */
const ENV = {
  BUCKET: 'embedbatch-databucket-1a2b3c',
  QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/123456789012/EmbedBatch-JobsQueue',
  INPUT_PREFIX: 'input/',
  OUTPUT_PREFIX: 'output/',
  EMBEDDINGS_BASE_URL: 'https://openai.inference.de-txl.ionos.com/v1',
  EMBEDDINGS_MODEL: 'BAAI/bge-m3',
  EMBED_FORMAT: 'parquet',
  REINDEX_CONCURRENCY: '8',
  AWS_REGION: 'eu-central-1',
};

describe('Function: loadReindexConfig', () => {
  it('reads the bucket, queue and concurrency, and the job settings with the job’s own rules', () => {
    // Act
    const config = loadReindexConfig(ENV);

    // Assess
    expect(config).toMatchObject({
      bucket: ENV.BUCKET,
      queueUrl: ENV.QUEUE_URL,
      concurrency: 8,
      region: 'eu-central-1',
    });
    expect(config.job).toEqual(loadConfig(ENV));
    expect(config.job).toMatchObject({ model: 'BAAI/bge-m3', format: 'parquet', inputPrefix: 'input/' });
  });

  it('defaults the concurrency to 8 and trims values', () => {
    const config = loadReindexConfig({ ...ENV, REINDEX_CONCURRENCY: ' ', BUCKET: ` ${ENV.BUCKET} ` });
    expect(config.concurrency).toBe(8);
    expect(config.bucket).toBe(ENV.BUCKET);
  });

  it.each<[Record<string, string | undefined>, RegExp]>([
    [{ BUCKET: undefined }, /`BUCKET` to be an S3 bucket name, got undefined/],
    [{ BUCKET: 's3://bucket' }, /`BUCKET` to be an S3 bucket name/],
    [{ QUEUE_URL: '' }, /`QUEUE_URL` to be an SQS queue URL/],
    [{ QUEUE_URL: 'EmbedBatch-JobsQueue' }, /`QUEUE_URL` to be an SQS queue URL/],
    [{ REINDEX_CONCURRENCY: '0' }, /`REINDEX_CONCURRENCY` to be an integer from 1 to 64, got "0"/],
    [{ EMBED_FORMAT: 'csv' }, /`EMBED_FORMAT`/],
  ])('rejects %j with a message naming the variable', (change, message) => {
    expect(() => loadReindexConfig({ ...ENV, ...change })).toThrow(ConfigError);
    expect(() => loadReindexConfig({ ...ENV, ...change })).toThrow(message);
  });
});
