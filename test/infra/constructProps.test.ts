import { Duration, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { AlarmTopic } from '../../infra/AlarmTopic.ts';
import { DataBucket } from '../../infra/DataBucket.ts';
import { EmbedBatchFunction, type EmbedBatchFunctionProps } from '../../infra/EmbedBatchFunction.ts';
import { PropsError } from '../../infra/errors.ts';
import { JobQueue } from '../../infra/JobQueue.ts';
import { RateBudgetTable } from '../../infra/RateBudgetTable.ts';
import { createApp } from './synthEmbedBatch.ts';

/** A stack with what `EmbedBatchFunction` needs, and valid props to vary. */
function functionFixture(): { stack: Stack; props: EmbedBatchFunctionProps } {
  const stack = new Stack(createApp(), 'Test');
  return {
    stack,
    props: {
      bucket: new s3.Bucket(stack, 'Bucket'),
      inputPrefix: 'input/',
      outputPrefix: 'output/',
      queue: new sqs.Queue(stack, 'Queue'),
      apiKeySecret: new secretsmanager.Secret(stack, 'Secret'),
      baseUrl: 'https://example.com/v1',
      model: 'BAAI/bge-m3',
      rateBudget: new RateBudgetTable(stack, 'RateBudget', { rps: 5 }),
    },
  };
}

/** The PropsError thrown by `build`. */
function propsError(build: () => unknown): PropsError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(PropsError);
    return error as PropsError;
  }
  throw new Error('expected a PropsError');
}

describe('Class: EmbedBatchFunction', () => {
  it.each<[string, Partial<EmbedBatchFunctionProps>, RegExp]>([
    ['maxConcurrency', { maxConcurrency: 1 }, /`maxConcurrency` to be an integer from 2 to 1000, got 1/],
    ['memorySize', { memorySize: 100 }, /`memorySize` to be an integer from 128 to 10240/],
    ['timeout (seconds)', { timeout: Duration.minutes(16) }, /from 1 to 900, got 960/],
    ['inputPrefix', { inputPrefix: 'input' }, /`inputPrefix` to be a key prefix ending in \//],
    ['outputPrefix', { inputPrefix: 'data/', outputPrefix: 'data/out/' }, /not to contain one another/],
  ])('rejects a bad `%s` before creating anything', (prop, change, message) => {
    // Prepare
    const { stack, props } = functionFixture();

    // Act
    const error = propsError(() => new EmbedBatchFunction(stack, 'Embed', { ...props, ...change }));

    // Assess
    expect(error.prop).toBe(prop);
    expect(error.message).toMatch(message);
    expect(stack.node.tryFindChild('Embed')?.node.children ?? []).toEqual([]);
  });
});

describe('Class: JobQueue', () => {
  it('rejects a consumer timeout over Lambda’s 15 minutes', () => {
    const stack = new Stack(createApp(), 'Test');
    expect(
      propsError(() => new JobQueue(stack, 'Jobs', { consumerTimeout: Duration.minutes(20) })).prop,
    ).toBe('consumerTimeout (seconds)');
  });

  it('rejects a maxReceiveCount of 0', () => {
    const stack = new Stack(createApp(), 'Test');
    const error = propsError(
      () => new JobQueue(stack, 'Jobs', { consumerTimeout: Duration.minutes(15), maxReceiveCount: 0 }),
    );
    expect(error.message).toBe('Expected `maxReceiveCount` to be an integer from 1 to 1000, got 0');
  });
});

describe('Class: DataBucket', () => {
  it('rejects a non-positive log retention', () => {
    const stack = new Stack(createApp(), 'Test');
    expect(propsError(() => new DataBucket(stack, 'Data', { accessLogDays: 0 })).prop).toBe('accessLogDays');
  });
});

describe('Class: AlarmTopic', () => {
  it('rejects an address that is not an email', () => {
    const stack = new Stack(createApp(), 'Test');
    expect(propsError(() => new AlarmTopic(stack, 'Alarms', { email: 'ops' })).prop).toBe('email');
  });
});
