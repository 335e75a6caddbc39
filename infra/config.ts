import type { IConstruct } from 'constructs';
import { StackConfigError } from './errors.ts';

/**
 * The deployment's settings, read once from CDK context (`cdk.json`'s
 * `context`, overridable with `cdk synth -c key=value`).
 */
export interface EmbedBatchConfig {
  /** `model`: the embedding model id sent to the endpoint. @default 'BAAI/bge-m3' */
  readonly model: string;
  /** `baseUrl`: the OpenAI-compatible endpoint, https only, no trailing `/`. @default IONOS_BASE_URL */
  readonly baseUrl: string;
  /**
   * `rateBudgetRps`: requests per second the whole account may send to the
   * endpoint (IONOS: 5/s sustained per contract, shared by all its endpoints).
   * @default 5
   */
  readonly rateBudgetRps: number;
  /**
   * `rateBudgetBurst`: requests the budget lets go at once after an idle
   * spell (IONOS allows 10, but using them buys no throughput).
   * @default 1 (evenly paced)
   */
  readonly rateBudgetBurst: number;
  /**
   * `rateBudgetTpm`: tokens per minute the whole account may use, shared
   * like the requests.
   * @default - no token budget
   */
  readonly rateBudgetTpm?: number;
  /**
   * `maxConcurrency`: most invocations the SQS event source runs at once
   * (AWS allows 2 to 1000). Bounds parallelism only: every invocation draws
   * on the one shared rate budget, so a lone one gets all of it.
   * @default 2
   */
  readonly maxConcurrency: number;
  /**
   * `requestConcurrency`: embedding requests one invocation keeps in flight
   * (`EMBED_CONCURRENCY`). Only needs to cover the budget's rate times the
   * endpoint's latency; the rate limiter, not this, bounds the request rate.
   * @default 4
   */
  readonly requestConcurrency: number;
  /** `memorySize`: the function's memory in MB (1769 MB is one full vCPU). @default 1769 */
  readonly memorySize: number;
  /** `inputPrefix`: uploads under it trigger the job; ends in `/`, never empty. @default 'input/' */
  readonly inputPrefix: string;
  /** `outputPrefix`: where output folders go; ends in `/`, never empty. @default 'output/' */
  readonly outputPrefix: string;
  /**
   * `secretName`: an existing Secrets Manager secret holding the API token.
   * @default - the stack creates a secret (value set after deploy)
   */
  readonly secretName?: string;
  /**
   * `alarmEmail`: address subscribed to a new encrypted SNS topic that the
   * alarms notify. Exclusive with `alarmTopicArn`.
   * @default - no notifications
   */
  readonly alarmEmail?: string;
  /**
   * `alarmTopicArn`: an existing SNS topic the alarms notify. Exclusive with `alarmEmail`.
   * @default - no notifications
   */
  readonly alarmTopicArn?: string;
  /**
   * `reindexSchedule`: an EventBridge Scheduler expression, `rate(...)` or
   * `cron(...)` (UTC), on which a reindex function sends every input whose
   * output is not current to the job queue; `off` for no schedule (and no
   * reindex function).
   * @default - off (undefined)
   */
  readonly reindexSchedule?: string;
}

/** The IONOS AI Model Hub's OpenAI-compatible base URL (the same default as the job's). */
export const IONOS_BASE_URL = 'https://openai.inference.de-txl.ionos.com/v1';

/** Defaults of every context key that has one; `cdk.json` repeats them so they are visible. */
export const CONFIG_DEFAULTS = {
  model: 'BAAI/bge-m3',
  baseUrl: IONOS_BASE_URL,
  rateBudgetRps: 5,
  rateBudgetBurst: 1,
  maxConcurrency: 2,
  requestConcurrency: 4,
  memorySize: 1769,
  inputPrefix: 'input/',
  outputPrefix: 'output/',
  reindexSchedule: 'off',
} as const;

/** Context keys this app reads. */
export const CONFIG_KEYS = [
  'model',
  'baseUrl',
  'rateBudgetRps',
  'rateBudgetBurst',
  'rateBudgetTpm',
  'maxConcurrency',
  'requestConcurrency',
  'memorySize',
  'inputPrefix',
  'outputPrefix',
  'secretName',
  'alarmEmail',
  'alarmTopicArn',
  'reindexSchedule',
] as const;

/** One context key's raw value: JSON from `cdk.json`, a string from `-c key=value`. */
export type ContextReader = (key: (typeof CONFIG_KEYS)[number]) => unknown;

/** Reads and validates the config from the context of `scope` (usually the App). */
export function readConfig(scope: IConstruct): EmbedBatchConfig {
  return parseConfig((key) => scope.node.tryGetContext(key));
}

/**
 * Validates raw context values into one typed config. Unset, `null` and
 * blank values take the default. Numbers may be JSON numbers or numeric
 * strings (that is how `-c key=value` delivers them).
 *
 * @throws StackConfigError naming the key and the value it got.
 */
export function parseConfig(read: ContextReader): EmbedBatchConfig {
  const model = text(read, 'model') ?? CONFIG_DEFAULTS.model;
  const baseUrl = httpsUrl(read, 'baseUrl') ?? CONFIG_DEFAULTS.baseUrl;
  const rateBudgetRps = number(read, 'rateBudgetRps', (n) => n > 0, 'a positive number');
  const rateBudgetBurst = number(
    read,
    'rateBudgetBurst',
    (n) => Number.isInteger(n) && n >= 1 && n <= 1000,
    'an integer from 1 to 1000',
  );
  const rateBudgetTpm = optionalNumber(
    read,
    'rateBudgetTpm',
    (n) => Number.isSafeInteger(n) && n >= 1,
    'a positive integer',
  );
  const maxConcurrency = number(
    read,
    'maxConcurrency',
    (n) => Number.isInteger(n) && n >= 2 && n <= 1000,
    'an integer from 2 to 1000 (the SQS event source limits)',
  );
  const requestConcurrency = number(
    read,
    'requestConcurrency',
    (n) => Number.isInteger(n) && n >= 1 && n <= 64,
    'an integer from 1 to 64',
  );
  const memorySize = number(
    read,
    'memorySize',
    (n) => Number.isInteger(n) && n >= 128 && n <= 10_240,
    'an integer from 128 to 10240 (MB, the Lambda limits)',
  );
  const inputPrefix = keyPrefix(read, 'inputPrefix');
  const outputPrefix = keyPrefix(read, 'outputPrefix');
  // Nested prefixes loop: errors.jsonl under an output prefix inside the input prefix is itself an input.
  if (inputPrefix.startsWith(outputPrefix) || outputPrefix.startsWith(inputPrefix)) {
    throw new StackConfigError(
      'outputPrefix',
      `Expected \`inputPrefix\` (${inputPrefix}) and \`outputPrefix\` (${outputPrefix}) not to contain one another: the job's own output would trigger it again`,
    );
  }

  const secretName = text(read, 'secretName');
  if (secretName !== undefined && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(secretName)) {
    throw new StackConfigError(
      'secretName',
      `Expected \`secretName\` to be a Secrets Manager secret name (letters, digits, /_+=.@-), got ${JSON.stringify(secretName)}`,
    );
  }
  const alarmEmail = text(read, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    throw new StackConfigError(
      'alarmEmail',
      `Expected \`alarmEmail\` to be an email address, got ${JSON.stringify(alarmEmail)}`,
    );
  }
  const alarmTopicArn = text(read, 'alarmTopicArn');
  if (
    alarmTopicArn !== undefined &&
    !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(alarmTopicArn)
  ) {
    throw new StackConfigError(
      'alarmTopicArn',
      `Expected \`alarmTopicArn\` to be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got ${JSON.stringify(alarmTopicArn)}`,
    );
  }
  if (alarmEmail !== undefined && alarmTopicArn !== undefined) {
    throw new StackConfigError(
      'alarmTopicArn',
      'Expected at most one of `alarmEmail` and `alarmTopicArn`: subscribe the address to the existing topic instead',
    );
  }

  return {
    model,
    baseUrl,
    rateBudgetRps,
    rateBudgetBurst,
    rateBudgetTpm,
    maxConcurrency,
    requestConcurrency,
    memorySize,
    inputPrefix,
    outputPrefix,
    secretName,
    alarmEmail,
    alarmTopicArn,
    reindexSchedule: scheduleExpression(read, 'reindexSchedule'),
  };
}

/** A trimmed non-blank string, or undefined when unset or blank. */
function text(read: ContextReader, key: (typeof CONFIG_KEYS)[number]): string | undefined {
  const raw = read(key);
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') {
    throw new StackConfigError(key, `Expected \`${key}\` to be a string, got ${JSON.stringify(raw)}`);
  }
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
}

function number(
  read: ContextReader,
  key: 'rateBudgetRps' | 'rateBudgetBurst' | 'maxConcurrency' | 'requestConcurrency' | 'memorySize',
  valid: (value: number) => boolean,
  expected: string,
): number {
  return optionalNumber(read, key, valid, expected) ?? CONFIG_DEFAULTS[key];
}

/** A number key without a default: undefined when unset or blank. */
function optionalNumber(
  read: ContextReader,
  key:
    | 'rateBudgetRps'
    | 'rateBudgetBurst'
    | 'rateBudgetTpm'
    | 'maxConcurrency'
    | 'requestConcurrency'
    | 'memorySize',
  valid: (value: number) => boolean,
  expected: string,
): number | undefined {
  const raw = read(key);
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    return undefined;
  }
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN;
  if (!Number.isFinite(value) || !valid(value)) {
    throw new StackConfigError(key, `Expected \`${key}\` to be ${expected}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The deployed function sends a bearer token: plain http would put it on the wire in clear. */
function httpsUrl(read: ContextReader, key: 'baseUrl'): string | undefined {
  const value = text(read, key);
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:') {
    throw new StackConfigError(key, `Expected \`${key}\` to be an https URL, got ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, '');
}

/** S3 key prefixes: no leading `/`, a trailing `/` (so `input` cannot match `input2/`), never empty. */
function keyPrefix(read: ContextReader, key: 'inputPrefix' | 'outputPrefix'): string {
  const value = (text(read, key) ?? CONFIG_DEFAULTS[key]).replace(/^\/+/, '');
  if (value === '') {
    throw new StackConfigError(
      key,
      `Expected \`${key}\` to be a key prefix like ${CONFIG_DEFAULTS[key]}, got an empty one: inputs and outputs need separate prefixes`,
    );
  }
  if (/[*?]/.test(value)) {
    // The prefix becomes part of IAM resource ARNs, where these are wildcards.
    throw new StackConfigError(
      key,
      `Expected \`${key}\` not to contain * or ?, got ${JSON.stringify(value)}`,
    );
  }
  return value.endsWith('/') ? value : `${value}/`;
}

const RATE_UNITS = ['minute', 'hour', 'day'] as const;
/** A field of a cron expression: digits, names (JAN, MON), `* ? , - / L W #`. */
const CRON_FIELD = /^[0-9A-Za-z*?,/#-]+$/;

/**
 * An EventBridge Scheduler recurring expression, checked here so a typo fails
 * `cdk synth` with a clear message instead of a CloudFormation rollback:
 * `rate(<n> <unit>)` (unit singular for 1, plural otherwise, as AWS requires)
 * or `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`
 * with `?` in exactly one of the two day fields. Unset, blank or `off`: undefined.
 */
function scheduleExpression(read: ContextReader, key: 'reindexSchedule'): string | undefined {
  const value = text(read, key);
  if (value === undefined || value.toLowerCase() === CONFIG_DEFAULTS[key]) return undefined;
  const expected = `Expected \`${key}\` to be "off", rate(<n> minute[s]|hour[s]|day[s]) or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>), got ${JSON.stringify(value)}`;
  const rate = /^rate\((\d+) ([a-z]+?)(s?)\)$/.exec(value);
  if (rate !== null) {
    const [, amountText = '', unit = '', plural = ''] = rate;
    const amount = Number(amountText);
    if (!(RATE_UNITS as readonly string[]).includes(unit) || !(amount >= 1)) {
      throw new StackConfigError(key, expected);
    }
    if ((amount === 1) !== (plural === '')) {
      throw new StackConfigError(
        key,
        `Expected \`${key}\` to be rate(${amount} ${unit}${amount === 1 ? '' : 's'}): AWS wants the unit singular for 1 and plural otherwise, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }
  const cron = /^cron\((.*)\)$/.exec(value);
  if (cron !== null) {
    const fields = (cron[1] ?? '').trim().split(/\s+/);
    if (fields.length !== 6 || !fields.every((field) => CRON_FIELD.test(field))) {
      throw new StackConfigError(key, expected);
    }
    if ((fields[2] === '?') === (fields[4] === '?')) {
      throw new StackConfigError(
        key,
        `Expected \`${key}\` to have ? in exactly one of day-of-month and day-of-week (e.g. cron(0 3 * * ? *) for 03:00 UTC daily), got ${JSON.stringify(value)}`,
      );
    }
    return `cron(${fields.join(' ')})`;
  }
  throw new StackConfigError(key, expected);
}
