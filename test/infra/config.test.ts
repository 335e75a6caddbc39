import { describe, expect, it } from 'vitest';
import {
  CONFIG_DEFAULTS,
  CONFIG_KEYS,
  type ContextReader,
  IONOS_BASE_URL,
  parseConfig,
} from '../../infra/config.ts';
import { StackConfigError } from '../../infra/errors.ts';
import { CDK_CONTEXT } from './synthEmbedBatch.ts';

/** A context reader over a plain object, as `-c key=value` or `cdk.json` would supply values. */
const contextOf =
  (values: Record<string, unknown>): ContextReader =>
  (key) =>
    values[key];

/** The StackConfigError `parseConfig` throws for `values`. */
function rejection(values: Record<string, unknown>): StackConfigError {
  try {
    parseConfig(contextOf(values));
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return error as StackConfigError;
  }
  throw new Error(`expected ${JSON.stringify(values)} to be rejected`);
}

describe('Function: parseConfig', () => {
  it('applies the documented defaults when nothing is set', () => {
    // Act
    const config = parseConfig(contextOf({}));

    // Assess
    expect(config).toEqual({
      model: 'BAAI/bge-m3',
      baseUrl: IONOS_BASE_URL,
      rateBudgetRps: 5,
      rateBudgetBurst: 1,
      rateBudgetTpm: undefined,
      maxConcurrency: 2,
      requestConcurrency: 4,
      memorySize: 1769,
      inputPrefix: 'input/',
      outputPrefix: 'output/',
      secretName: undefined,
      alarmEmail: undefined,
      alarmTopicArn: undefined,
    });
  });

  it('matches the defaults that cdk.json documents', () => {
    for (const [key, value] of Object.entries(CONFIG_DEFAULTS)) {
      expect(CDK_CONTEXT[key], key).toEqual(value);
    }
    expect(parseConfig(contextOf(CDK_CONTEXT))).toEqual(parseConfig(contextOf({})));
  });

  it('reads numbers given as strings, as `cdk synth -c key=value` passes them', () => {
    // Act
    const config = parseConfig(
      contextOf({
        rateBudgetRps: ' 10 ',
        rateBudgetBurst: '10',
        rateBudgetTpm: '600000',
        maxConcurrency: '4',
        memorySize: '3008',
        requestConcurrency: '8',
      }),
    );

    // Assess
    expect(config).toMatchObject({
      rateBudgetRps: 10,
      rateBudgetBurst: 10,
      rateBudgetTpm: 600_000,
      maxConcurrency: 4,
      memorySize: 3008,
      requestConcurrency: 8,
    });
  });

  it('keeps the whole budget whatever the concurrency: it is shared, not divided', () => {
    expect(parseConfig(contextOf({ rateBudgetRps: 0.5, maxConcurrency: 1000 }))).toMatchObject({
      rateBudgetRps: 0.5,
      maxConcurrency: 1000,
    });
  });

  it('normalises prefixes to end in / without a leading /', () => {
    // Act
    const config = parseConfig(contextOf({ inputPrefix: '/uploads', outputPrefix: 'vectors/' }));

    // Assess
    expect(config).toMatchObject({ inputPrefix: 'uploads/', outputPrefix: 'vectors/' });
  });

  it('trims the base URL of trailing slashes and treats blank values as unset', () => {
    // Act
    const config = parseConfig(
      contextOf({ baseUrl: 'https://example.com/v1/', model: '  ', secretName: '' }),
    );

    // Assess
    expect(config).toMatchObject({
      baseUrl: 'https://example.com/v1',
      model: 'BAAI/bge-m3',
      secretName: undefined,
    });
  });

  it.each([
    ['maxConcurrency', { maxConcurrency: 1 }, /`maxConcurrency` to be an integer from 2 to 1000/],
    ['maxConcurrency', { maxConcurrency: '2.5' }, /got "2.5"/],
    ['rateBudgetRps', { rateBudgetRps: 0 }, /`rateBudgetRps` to be a positive number, got 0/],
    ['rateBudgetRps', { rateBudgetRps: 'fast' }, /got "fast"/],
    ['rateBudgetBurst', { rateBudgetBurst: 0 }, /`rateBudgetBurst` to be an integer from 1 to 1000, got 0/],
    ['rateBudgetTpm', { rateBudgetTpm: 1.5 }, /`rateBudgetTpm` to be a positive integer, got 1.5/],
    ['memorySize', { memorySize: 64 }, /from 128 to 10240/],
    ['requestConcurrency', { requestConcurrency: 0 }, /`requestConcurrency`/],
    ['baseUrl', { baseUrl: 'http://example.com/v1' }, /`baseUrl` to be an https URL/],
    ['baseUrl', { baseUrl: 'not a url' }, /https URL/],
    ['model', { model: 42 }, /`model` to be a string, got 42/],
    ['inputPrefix', { inputPrefix: '/' }, /`inputPrefix`.*got an empty one/],
    ['outputPrefix', { inputPrefix: 'data/', outputPrefix: 'data/out/' }, /not to contain one another/],
    ['outputPrefix', { inputPrefix: 'data/in/', outputPrefix: 'data/' }, /not to contain one another/],
    ['inputPrefix', { inputPrefix: 'in*/' }, /not to contain \* or \?/],
    ['secretName', { secretName: 'has spaces' }, /`secretName`/],
    ['alarmEmail', { alarmEmail: 'nobody' }, /`alarmEmail` to be an email address/],
    ['alarmTopicArn', { alarmTopicArn: 'ops-alarms' }, /`alarmTopicArn` to be an SNS topic ARN/],
    [
      'alarmTopicArn',
      { alarmEmail: 'ops@example.com', alarmTopicArn: 'arn:aws:sns:eu-central-1:123456789012:ops' },
      /at most one of `alarmEmail` and `alarmTopicArn`/,
    ],
  ])('rejects a bad `%s`: %j', (key, values, message) => {
    // Act
    const error = rejection(values);

    // Assess
    expect(error.key).toBe(key);
    expect(error.message).toMatch(message);
  });

  it('reads only the keys it documents', () => {
    // Prepare
    const asked: string[] = [];

    // Act
    parseConfig((key) => {
      asked.push(key);
      return undefined;
    });

    // Assess
    expect(new Set(asked)).toEqual(new Set(CONFIG_KEYS));
  });
});
