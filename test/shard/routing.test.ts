import { gzipSync } from 'node:zlib';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  type SFNClient,
  type StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../lambda/aws/createHandler.ts';
import { loadConfig } from '../../lambda/aws/loadConfig.ts';
import {
  executionName,
  type LargeFileRunInput,
  type LargeFileRunStarter,
  sfnLargeFileRunStarter,
} from '../../lambda/aws/startLargeFileRun.ts';
import { ConfigError } from '../../lambda/errors.ts';
import { S3Store } from '../../lambda/store/S3Store.ts';
import { failures, lambdaContext, sqsEvent, sqsS3Message } from '../helpers/events.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';
import { type CapturedOutput, captureOutput } from '../lambda/captureOutput.ts';

const BUCKET = 'embed-batch-routing';
const STATE_MACHINE = 'arn:aws:states:eu-central-1:123456789012:stateMachine:EmbedBatchLargeFiles';

function jsonl(rows: number): string {
  return Array.from({ length: rows }, (_, i) =>
    JSON.stringify({ id: `r-${i}`, text: `row number ${i}` }),
  ).join('\n');
}

function csv(rows: number): string {
  return `id,text\n${Array.from({ length: rows }, (_, i) => `r-${i},row number ${i} of a file`).join('\n')}\n`;
}

/**
 * A fake SFN client recording each StartExecution; names seen before fail as
 * Step Functions does, and DescribeExecution answers `statuses` (RUNNING unless set).
 */
function fakeSfn() {
  const started: { name?: string; input?: string; stateMachineArn?: string }[] = [];
  const statuses = new Map<string, string>();
  const client = {
    send: async (command: StartExecutionCommand | DescribeExecutionCommand) => {
      if (command instanceof DescribeExecutionCommand) {
        const name = command.input.executionArn?.split(':').at(-1) ?? '';
        return { status: statuses.get(name) ?? 'RUNNING' };
      }
      const { name, input, stateMachineArn } = command.input;
      if (started.some((run) => run.name === name)) {
        throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${name}'`, $metadata: {} });
      }
      started.push({ name, input, stateMachineArn });
      return {
        executionArn: `arn:aws:states:eu-central-1:123456789012:execution:EmbedBatchLargeFiles:${name}`,
      };
    },
  } as unknown as SFNClient;
  return { client, started, statuses };
}

describe('Function: executionName', () => {
  it('is the same for the same object version, and differs for another ETag, key or bucket', () => {
    // Act
    const name = executionName('bucket', 'input/a/products.csv', 'etag-1');

    // Assess
    expect(executionName('bucket', 'input/a/products.csv', 'etag-1')).toBe(name);
    expect(
      new Set([
        name,
        executionName('bucket', 'input/a/products.csv', 'etag-2'),
        executionName('bucket', 'input/b/products.csv', 'etag-1'),
        executionName('other', 'input/a/products.csv', 'etag-1'),
      ]).size,
    ).toBe(4);
    expect(name).toMatch(/^products-[0-9a-f]{64}$/);
  });

  it('stays within 80 characters of [A-Za-z0-9_-] for any key', () => {
    for (const key of [
      'input/ü+ spaces (1).csv',
      `input/${'x'.repeat(300)}.jsonl`,
      'input/.csv',
      'input/東京.csv',
    ]) {
      expect(executionName('b', key, undefined)).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    }
  });
});

describe('Function: sfnLargeFileRunStarter', () => {
  it('starts an execution named after the object version, with the object as input', async () => {
    // Prepare
    const { client, started } = fakeSfn();
    const start = sfnLargeFileRunStarter(client, STATE_MACHINE);
    const input: LargeFileRunInput = { bucket: 'b', key: 'input/big.csv', etag: 'e1', size: 5_000 };

    // Act
    const run = await start(input);

    // Assess
    expect(run).toEqual({
      executionArn: expect.stringContaining(`:execution:EmbedBatchLargeFiles:${run.name}`),
      name: executionName('b', 'input/big.csv', 'e1'),
      alreadyStarted: false,
    });
    expect(started).toEqual([
      { name: run.name, input: JSON.stringify(input), stateMachineArn: STATE_MACHINE },
    ]);
  });

  it('treats ExecutionAlreadyExists (a duplicate delivery) as success', async () => {
    // Prepare
    const { client, started } = fakeSfn();
    const start = sfnLargeFileRunStarter(client, STATE_MACHINE);
    const input = { bucket: 'b', key: 'input/big.csv', etag: 'e1', size: 5_000 };
    const first = await start(input);

    // Act
    const second = await start(input);

    // Assess
    expect(second).toEqual({ ...first, alreadyStarted: true });
    expect(started).toHaveLength(1);
  });

  it('starts the next attempt of a version whose earlier run ended without an output, and not while one runs', async () => {
    // Prepare
    const { client, started, statuses } = fakeSfn();
    const start = sfnLargeFileRunStarter(client, STATE_MACHINE);
    const input = { bucket: 'b', key: 'input/big.csv', etag: 'e1', size: 5_000 };
    const first = await start(input);
    statuses.set(first.name, 'FAILED');

    // Act
    const second = await start(input);
    const duplicate = await start(input);

    // Assess
    expect(second).toMatchObject({ name: `${first.name.slice(0, 77)}-a2`, alreadyStarted: false });
    expect(second.name.length).toBeLessThanOrEqual(80);
    expect(duplicate).toEqual({ ...second, alreadyStarted: true });
    expect(started.map((run) => run.name)).toEqual([first.name, second.name]);
  });

  it('rejects an ARN that is not a state machine', () => {
    expect(() =>
      sfnLargeFileRunStarter(fakeSfn().client, 'arn:aws:lambda:eu-central-1:1:function:x'),
    ).toThrow(ConfigError);
  });
});

describe('Function: loadConfig (distributed path)', () => {
  it('reads STATE_MACHINE_ARN, LARGE_FILE_BYTES, SHARD_BYTES and SHARD_RECORDS, with defaults', () => {
    expect(loadConfig({})).toMatchObject({
      stateMachineArn: undefined,
      largeFileBytes: 32 * 1024 * 1024,
      shardBytes: 64 * 1024 * 1024,
      shardRecords: undefined,
    });
    expect(
      loadConfig({
        STATE_MACHINE_ARN: ` ${STATE_MACHINE} `,
        LARGE_FILE_BYTES: '1000',
        SHARD_BYTES: '500',
        SHARD_RECORDS: '20',
      }),
    ).toMatchObject({
      stateMachineArn: STATE_MACHINE,
      largeFileBytes: 1000,
      shardBytes: 500,
      shardRecords: 20,
    });
  });

  it.each([
    ['STATE_MACHINE_ARN', 'arn:aws:lambda:eu-central-1:123456789012:function:x', /STATE_MACHINE_ARN/],
    ['LARGE_FILE_BYTES', '0', /LARGE_FILE_BYTES/],
    ['SHARD_BYTES', '1.5', /SHARD_BYTES/],
    ['SHARD_RECORDS', '-3', /SHARD_RECORDS/],
  ])('names %s when its value is bad', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});

describe('Function: handler (routing large files)', () => {
  let s3: LocalS3;
  let output: CapturedOutput;

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(BUCKET);
  });

  afterAll(async () => {
    await s3?.stop();
  });

  beforeEach(() => {
    output = captureOutput();
  });

  afterEach(() => {
    output.restore();
  });

  /** Offline embedder; objects over 2 000 bytes count as large. */
  function newHandler(startLargeFileRun?: LargeFileRunStarter, env: Record<string, string> = {}) {
    return createHandler({
      config: loadConfig({ LARGE_FILE_BYTES: '2000', STATE_MACHINE_ARN: STATE_MACHINE, ...env }),
      store: new S3Store(s3.client),
      readSecret: async () => '',
      startLargeFileRun,
    });
  }

  function recordingStarter(result: Partial<{ alreadyStarted: boolean; error: Error }> = {}) {
    const calls: LargeFileRunInput[] = [];
    const start: LargeFileRunStarter = async (input) => {
      calls.push(input);
      if (result.error) throw result.error;
      return { executionArn: 'arn:execution', name: 'n', alreadyStarted: result.alreadyStarted ?? false };
    };
    return { start, calls };
  }

  function logged(message: string): Record<string, unknown>[] {
    return output.json().filter((line) => line.message === message);
  }

  it('sends an object over LARGE_FILE_BYTES to the state machine and writes nothing itself', async () => {
    // Prepare
    const { etag, size } = await s3.putObject(BUCKET, 'input/large/a.csv', csv(200));
    const { start, calls } = recordingStarter();

    // Act
    const response = await newHandler(start)(
      sqsEvent(sqsS3Message([{ bucket: BUCKET, key: 'input/large/a.csv', etag, size }], 'm1')),
      lambdaContext(),
    );

    // Assess
    expect(size).toBeGreaterThan(2000);
    expect(failures(response)).toEqual([]);
    expect(calls).toEqual([{ bucket: BUCKET, key: 'input/large/a.csv', etag, size }]);
    expect(await s3.listKeys(BUCKET, 'output/large/a.csv/')).toEqual([]);
    expect(logged('large file: run started')[0]).toMatchObject({
      key: 'input/large/a.csv',
      bytes: size,
      executionArn: 'arn:execution',
      outputDir: `s3://${BUCKET}/output/large/a.csv/`,
    });
  });

  it('reports a duplicate delivery as done when the run was already started', async () => {
    // Prepare
    const { etag, size } = await s3.putObject(BUCKET, 'input/large/dup.csv', csv(200));
    const { start } = recordingStarter({ alreadyStarted: true });

    // Act
    const response = await newHandler(start)(
      sqsEvent(sqsS3Message([{ bucket: BUCKET, key: 'input/large/dup.csv', etag, size }])),
      lambdaContext(),
    );

    // Assess
    expect(failures(response)).toEqual([]);
    expect(logged('large file: run already started')).toHaveLength(1);
  });

  it('fails the message when the run cannot be started, so SQS delivers it again', async () => {
    // Prepare
    const { etag, size } = await s3.putObject(BUCKET, 'input/large/denied.csv', csv(200));
    const { start } = recordingStarter({
      error: Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' }),
    });

    // Act
    const response = await newHandler(start)(
      sqsEvent(sqsS3Message([{ bucket: BUCKET, key: 'input/large/denied.csv', etag, size }], 'denied')),
      lambdaContext(),
    );

    // Assess
    expect(failures(response)).toEqual(['denied']);
  });

  it.each([
    ['a small object', 'input/inline/small.csv', csv(5)],
    [
      'a large gzip object (it cannot be split)',
      'input/inline/large.csv.gz',
      gzipSync(csv(400), { level: 0 }),
    ],
    [
      'a large ;-separated CSV (the shards read commas only)',
      'input/inline/semicolon.csv',
      csv(400).replaceAll(',', ';'),
    ],
    ['a large TSV', 'input/inline/large.tsv', csv(400).replaceAll(',', '\t')],
    [
      'a large JSONL file in UTF-16 (the shards read UTF-8 only)',
      'input/inline/utf16.jsonl',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(jsonl(200), 'utf16le')]),
    ],
    [
      'a large CSV of a job set to EMBED_ENCODING=windows-1252',
      'input/inline/cp1252.csv',
      csv(400),
      { EMBED_ENCODING: 'windows-1252' },
    ],
    [
      'a large CSV of a job set to EMBED_DELIMITER=; ',
      'input/inline/set-semicolon.csv',
      csv(400).replaceAll(',', ';'),
      { EMBED_DELIMITER: ';' },
    ],
  ] as [string, string, string | Buffer, Record<string, string>?][])(
    'embeds %s inline',
    async (_case, key, body, env = {}) => {
      // Prepare
      const { etag, size } = await s3.putObject(BUCKET, key, body);
      const { start, calls } = recordingStarter();

      // Act
      const response = await newHandler(start, env)(
        sqsEvent(sqsS3Message([{ bucket: BUCKET, key, etag, size }])),
        lambdaContext(),
      );

      // Assess
      expect(failures(response)).toEqual([]);
      expect(calls).toEqual([]);
      const folder = `output/${key.slice('input/'.length)}/`;
      expect(await s3.getBytes(BUCKET, `${folder}manifest.json`)).toBeDefined();
    },
  );

  it('embeds a large object inline when no state machine is configured', async () => {
    // Prepare
    const { etag, size } = await s3.putObject(BUCKET, 'input/nosfn/big.csv', csv(200));

    // Act
    const response = await newHandler(undefined)(
      sqsEvent(sqsS3Message([{ bucket: BUCKET, key: 'input/nosfn/big.csv', etag, size }])),
      lambdaContext(),
    );

    // Assess
    expect(failures(response)).toEqual([]);
    expect(await s3.getBytes(BUCKET, 'output/nosfn/big.csv/manifest.json')).toBeDefined();
  });

  it('skips a large object whose output is already complete, without starting a run', async () => {
    // Prepare: complete it inline first.
    const { etag, size } = await s3.putObject(BUCKET, 'input/done/big.csv', csv(200));
    const object = { bucket: BUCKET, key: 'input/done/big.csv', etag, size };
    await newHandler(undefined)(sqsEvent(sqsS3Message([object])), lambdaContext());
    const { start, calls } = recordingStarter();

    // Act
    const response = await newHandler(start)(sqsEvent(sqsS3Message([object])), lambdaContext());

    // Assess
    expect(failures(response)).toEqual([]);
    expect(calls).toEqual([]);
    expect(logged('already complete')).toHaveLength(1);
  });
});
