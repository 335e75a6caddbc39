import { rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHandler, type HandlerDeps } from '../../lambda/aws/createHandler.ts';
import { loadConfig } from '../../lambda/aws/loadConfig.ts';
import { featureHashEmbed } from '../../lambda/embed/featureHash.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import { S3Store } from '../../lambda/store/S3Store.ts';
import {
  failures,
  lambdaContext,
  type S3ObjectSpec,
  s3Event,
  s3TestEventBody,
  sqsEvent,
  sqsS3Message,
} from '../helpers/events.ts';
import { fixtureBytes } from '../helpers/readFixtures.ts';
import { type OutputFolderContents, readOutputFolder } from '../helpers/readOutput.ts';
import { breakGetObjectBodies } from '../helpers/s3Faults.ts';
import { downloadOutputFolder } from '../helpers/s3Output.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';
import { type CapturedOutput, captureOutput } from './captureOutput.ts';

const BUCKET = 'embed-batch-it';
/** Distinctive, so a leak anywhere is found by a plain substring search. */
const TOKEN = 'tok-9f8e7d6c5b4a-NEVER-LOG-ME-3141592653';
const SECRET_ARN =
  'arn:aws:secretsmanager:eu-central-1:123456789012:secret:embed-batch/endpoint-token-AbCdEf';
const DIMENSIONS = 32;
const MODEL = 'local/feature-hash';

type Row = readonly [id: string, text: string];

/** Product-like rows with commas, quotes and non-ASCII text, so CSV quoting and UTF-8 are exercised. */
function products(count: number, prefix = 'p'): Row[] {
  return Array.from({ length: count }, (_, i) => [
    `${prefix}-${i + 1}`,
    `Produkt ${i + 1}: "Grüner Tee", Größe ${(i % 5) + 1} — naïve café ${i % 3 === 0 ? '東京' : 'Zürich'}`,
  ]);
}

function csv(rows: readonly Row[]): string {
  const quote = (value: string) => `"${value.replaceAll('"', '""')}"`;
  return `id,text\n${rows.map(([id, text]) => `${id},${quote(text)}`).join('\n')}\n`;
}

function jsonl(rows: readonly Row[]): string {
  return rows.map(([id, text]) => JSON.stringify({ id, text })).join('\n');
}

describe('Function: handler', () => {
  let s3: LocalS3;
  let server: LocalServer;
  let output: CapturedOutput;
  const tempDirs: string[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(BUCKET);
    server = await startLocalServer({ apiKey: TOKEN, dimensions: DIMENSIONS });
  });

  afterAll(async () => {
    await server?.close();
    await s3?.stop();
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  beforeEach(() => {
    output = captureOutput();
  });

  afterEach(() => {
    output.restore();
  });

  /** A handler as one container would build it; the Secrets Manager read is the only fake. */
  function newHandler(options: { env?: Record<string, string>; store?: S3Store; secret?: string } = {}) {
    const secretReads: string[] = [];
    const deps: HandlerDeps = {
      config: loadConfig({
        EMBEDDINGS_BASE_URL: server.url,
        EMBEDDINGS_MODEL: MODEL,
        EMBEDDINGS_API_KEY_SECRET_ARN: SECRET_ARN,
        EMBED_BATCH_SIZE: '16',
        EMBED_CONCURRENCY: '2',
        ...options.env,
      }),
      store: options.store ?? new S3Store(s3.client),
      readSecret: async (arn) => {
        secretReads.push(arn);
        return options.secret ?? JSON.stringify({ apiKey: TOKEN });
      },
    };
    return { handler: createHandler(deps), secretReads };
  }

  async function upload(key: string, body: string | Uint8Array): Promise<S3ObjectSpec> {
    const { etag, size } = await s3.putObject(BUCKET, key, body);
    return { bucket: BUCKET, key, etag, size };
  }

  async function readOutput(prefix: string): Promise<OutputFolderContents & { files: string[] }> {
    const { dir, files } = await downloadOutputFolder(s3, BUCKET, prefix);
    tempDirs.push(dir);
    return { ...(await readOutputFolder(dir)), files };
  }

  async function hasManifest(prefix: string): Promise<boolean> {
    return (await s3.getBytes(BUCKET, `${prefix}manifest.json`)) !== undefined;
  }

  function logged(message: string): Record<string, unknown>[] {
    return output.json().filter((line) => line.message === message);
  }

  it('embeds a CSV under a key with spaces, + and unicode into Parquet parts with a manifest', async () => {
    // Prepare
    const rows = products(40);
    const object = await upload('input/catalog 2024/ü+products.csv', csv(rows));
    const { handler } = newHandler({ env: { EMBED_PART_ROWS: '15' } });
    const event = sqsEvent(sqsS3Message([object], 'message-1'));

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(failures(response)).toEqual([]);
    const out = await readOutput('output/catalog 2024/ü+products.csv/');
    expect(out.rows.map((row) => row.id)).toEqual(rows.map(([id]) => id));
    for (const [i, row] of out.rows.entries()) {
      expect(row.text).toBe(rows[i]?.[1]);
      expect(row.embedding).toEqual(Array.from(featureHashEmbed(rows[i]?.[1] ?? '', DIMENSIONS)));
    }
    expect(out.manifest).toMatchObject({
      source: {
        uri: `s3://${BUCKET}/input/catalog 2024/ü+products.csv`,
        etag: object.etag,
        bytes: object.size,
      },
      model: MODEL,
      dimensions: DIMENSIONS,
      rows: 40,
    });
    expect(out.manifest.parts.map((part) => part.rows)).toEqual([15, 15, 10]);
    expect(out.files.sort()).toEqual(
      [
        'errors.jsonl',
        'manifest.json',
        'part-00000.parquet',
        'part-00001.parquet',
        'part-00002.parquet',
        'usage.json',
      ].sort(),
    );
    expect(out.usage).toMatchObject({ endpoint: server.url, rows: { read: 40, embedded: 40, rejected: 0 } });
  });

  it('reports the usage report as EMF metrics and logs the source key with counts', async () => {
    // Prepare
    const object = await upload('input/metrics/m.jsonl', jsonl(products(7, 'm')));
    const { handler } = newHandler({ env: { POWERTOOLS_METRICS_NAMESPACE: 'EmbedBatchTest' } });

    // Act
    await handler(sqsEvent(sqsS3Message([object])), lambdaContext());

    // Assess
    const emf = output.json().find((line) => line._aws !== undefined && line.RowsEmbedded !== undefined);
    expect(emf).toMatchObject({
      RowsEmbedded: 7,
      RowsRejected: 0,
      Requests: 1,
      Retries: 0,
      Throttles: 0,
      sourceKey: 'input/metrics/m.jsonl',
      _aws: { CloudWatchMetrics: [{ Namespace: 'EmbedBatchTest' }] },
    });
    expect(emf?.Tokens).toBeGreaterThan(0);
    expect(emf?.DurationMs).toBeGreaterThanOrEqual(0);
    expect(logged('embedded')[0]).toMatchObject({
      key: 'input/metrics/m.jsonl',
      rows: { read: 7, embedded: 7 },
      outputDir: `s3://${BUCKET}/output/metrics/m.jsonl/`,
    });
  });

  it('completes a file whose every record is rejected, logging an error instead of failing the message', async () => {
    // Prepare: redelivery could not help, so the message must not go back to the queue.
    const object = await upload('input/blank/b.csv', 'id,text\n1,\n2,  \n');
    const { handler } = newHandler();

    // Act
    const response = await handler(sqsEvent(sqsS3Message([object])), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await hasManifest('output/blank/b.csv/')).toBe(true);
    expect(logged('every record was rejected')[0]).toMatchObject({
      level: 'ERROR',
      key: 'input/blank/b.csv',
      rows: { read: 2, embedded: 0, rejected: 2 },
      errors: `s3://${BUCKET}/output/blank/b.csv/errors.jsonl`,
    });
  });

  it('logs what the reader decided on its own, such as a sniffed delimiter', async () => {
    // Prepare
    const object = await upload('input/semi/s.csv', 'id;text\n1;hello\n');
    const { handler } = newHandler();

    // Act
    await handler(sqsEvent(sqsS3Message([object])), lambdaContext());

    // Assess
    expect(output.json().some((line) => String(line.message).includes('columns separated by ";"'))).toBe(
      true,
    );
    expect((await readOutput('output/semi/s.csv/')).rows.map((row) => row.text)).toEqual(['hello']);
  });

  it("reads a file as EMBED_DELIMITER and EMBED_ENCODING say: Excel's ;-separated windows-1252 CSV", async () => {
    // Prepare
    const object = await upload('input/excel/artikel.csv', fixtureBytes('semicolon-cp1252.csv'));
    const { handler } = newHandler({
      env: { EMBED_DELIMITER: ';', EMBED_ENCODING: 'windows-1252', EMBED_KEEP_COLUMNS: 'category' },
    });

    // Act
    const response = await handler(sqsEvent(sqsS3Message([object])), lambdaContext());

    // Assess: every row as Excel shows it, and nothing sniffed (the delimiter was set)
    expect(failures(response)).toEqual([]);
    const out = await readOutput('output/excel/artikel.csv/');
    expect(out.rows.map((row) => [row.id, row.text, row.category])).toEqual([
      ['1', 'Wasserkocher aus Edelstahl, 1,7 l', 'Küche'],
      ['2', 'Größe: 42; Farbe "Weiß"', 'Schuhe'],
      ['3', 'Crème brûlée – Förmchen (4 Stück)', 'Küche'],
    ]);
    expect(out.errors).toEqual([]);
    expect(output.json().some((line) => String(line.message).includes('columns separated by'))).toBe(false);
  });

  it.each([
    [
      'a CSV without the column EMBED_ID_COLUMN names',
      'input/ids/p.csv',
      'id,text\n1,hello\n',
      { EMBED_ID_COLUMN: 'sku' },
      'p.csv: no column "sku" in the header; columns are: id, text (check --id-column)',
    ],
    [
      'a JSONL file without the field EMBED_ID_COLUMN names',
      'input/ids/p.jsonl',
      '{"id":1,"text":"hello"}\n{"id":2,"text":"again"}\n',
      { EMBED_ID_COLUMN: 'sku' },
      'p.jsonl: no field "sku" in any of the 2 records; fields are: id, text (check --id-column)',
    ],
    [
      'a ;-separated CSV read as EMBED_DELIMITER=, says',
      'input/ids/semi.csv',
      'id;text\n1;hello\n',
      { EMBED_DELIMITER: ',' },
      'semi.csv: no column "text" in the header; columns are: id;text (use --text-column)',
    ],
  ])('fails %s at once, with no output', async (_case, key, body, env, message) => {
    // Prepare
    const object = await upload(key, body);
    const { handler } = newHandler({ env });

    // Act
    const response = await handler(sqsEvent(sqsS3Message([object], 'm-ids')), lambdaContext());

    // Assess
    expect(failures(response)).toEqual(['m-ids']);
    const error = logged('failed')[0]?.error as { message?: string } | undefined;
    expect(error?.message).toContain(message);
    expect(await hasManifest(`output/${key.slice('input/'.length)}/`)).toBe(false);
  });

  it('handles several messages per event and several S3 records per message, gzip included', async () => {
    // Prepare
    const a = await upload('input/multi/a.csv.gz', gzipSync(csv(products(5, 'a'))));
    const b = await upload('input/multi/b.ndjson', jsonl(products(3, 'b')));
    const c = await upload('input/multi/c d.jsonl', jsonl(products(4, 'c')));
    const { handler } = newHandler();

    // Act
    const response = await handler(
      sqsEvent(sqsS3Message([a, b], 'first'), sqsS3Message([c], 'second')),
      lambdaContext(),
    );

    // Assess
    expect(failures(response)).toEqual([]);
    expect((await readOutput('output/multi/a.csv.gz/')).rows.map((row) => row.id)).toEqual([
      'a-1',
      'a-2',
      'a-3',
      'a-4',
      'a-5',
    ]);
    expect((await readOutput('output/multi/b.ndjson/')).rows).toHaveLength(3);
    expect((await readOutput('output/multi/c d.jsonl/')).rows).toHaveLength(4);
  });

  it('embeds a batch of ten messages of small files together: requests carry rows of several files, failures per message', async () => {
    // Prepare: nine small files and one without its text column, each its own message.
    const rowsOf = (n: number) => products(6 + n, `m${n}`);
    const good = [];
    for (let n = 0; n < 9; n++)
      good.push(
        await upload(`input/batch/f${n}.${n % 2 ? 'jsonl' : 'csv'}`, (n % 2 ? jsonl : csv)(rowsOf(n))),
      );
    const bad = await upload('input/batch/no-text.csv', 'id,body\n1,hello\n');
    const { handler } = newHandler();
    const before = server.log.length;

    // Act
    const response = await handler(
      sqsEvent(...good.map((o, n) => sqsS3Message([o], `msg-${n}`)), sqsS3Message([bad], 'msg-bad')),
      lambdaContext(),
    );

    // Assess: only the bad message is reported; every other output exact, vector for vector.
    expect(failures(response)).toEqual(['msg-bad']);
    for (let n = 0; n < 9; n++) {
      const out = await readOutput(`output/batch/f${n}.${n % 2 ? 'jsonl' : 'csv'}/`);
      expect(out.rows.map((r) => [r.id, r.text])).toEqual(rowsOf(n));
      for (const row of out.rows)
        expect(row.embedding).toEqual(Array.from(featureHashEmbed(row.text ?? '', DIMENSIONS)));
      expect(out.usage).toMatchObject({ rows: { read: rowsOf(n).length, embedded: rowsOf(n).length } });
    }
    // 90 rows in batches of 16 take 6 requests when packed together, against 9 (one or more per file) alone.
    const requests = server.log.slice(before).filter((e) => e.status === 200);
    expect(requests.reduce((n, e) => n + e.inputs, 0)).toBe(
      good.reduce((n, _, i) => n + rowsOf(i).length, 0),
    );
    expect(requests.length).toBeLessThan(9);
  });

  it('gives input/col/x.csv, x.jsonl and x.csv.gz three complete outputs, each invocation keeping its own rows', async () => {
    // Prepare
    const csvRows = products(5, 'csv');
    const jsonlRows = products(4, 'jsonl');
    const gzRows = products(3, 'gz');
    const objects = [
      await upload('input/col/x.csv', csv(csvRows)),
      await upload('input/col/x.jsonl', jsonl(jsonlRows)),
      await upload('input/col/x.csv.gz', gzipSync(csv(gzRows))),
    ];
    const { handler } = newHandler();

    // Act: one invocation per upload, as the queue delivers them
    const responses = [];
    for (const object of objects)
      responses.push(await handler(sqsEvent(sqsS3Message([object])), lambdaContext()));

    // Assess
    expect(responses.flatMap(failures)).toEqual([]);
    for (const [folder, rows] of [
      ['output/col/x.csv/', csvRows],
      ['output/col/x.jsonl/', jsonlRows],
      ['output/col/x.csv.gz/', gzRows],
    ] as const) {
      const out = await readOutput(folder);
      expect(
        out.rows.map((row) => [row.id, row.text]),
        folder,
      ).toEqual(rows.map(([id, text]) => [id, text]));
      expect(out.rows.map((row) => row.embedding)).toEqual(
        rows.map(([, text]) => Array.from(featureHashEmbed(text, DIMENSIONS))),
      );
    }
    expect(await s3.listKeys(BUCKET, 'output/col/x/')).toEqual([]);
  });

  it('skips a redelivered event whose output is complete, logging already complete', async () => {
    // Prepare
    const object = await upload('input/twice/x.csv', csv(products(12, 'x')));
    const { handler, secretReads } = newHandler();
    const event = sqsEvent(sqsS3Message([object], 'dup'));
    await handler(event, lambdaContext());
    const first = await readOutput('output/twice/x.csv/');
    const requestsBefore = server.stats.requests;

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(failures(response)).toEqual([]);
    const second = await readOutput('output/twice/x.csv/');
    expect(second.manifest).toEqual(first.manifest);
    expect(second.rows.map((row) => row.id)).toEqual(products(12, 'x').map(([id]) => id));
    expect(server.stats.requests).toBe(requestsBefore);
    expect(logged('already complete')).toEqual([expect.objectContaining({ key: 'input/twice/x.csv' })]);
    // The token is read once per container, however many invocations.
    expect(secretReads).toEqual([SECRET_ARN]);
  });

  it('re-embeds when the object was overwritten since the complete output', async () => {
    // Prepare
    const { handler } = newHandler();
    const old = await upload('input/changed/x.csv', csv(products(3, 'old')));
    await handler(sqsEvent(sqsS3Message([old])), lambdaContext());
    const fresh = await upload('input/changed/x.csv', csv(products(5, 'new')));

    // Act
    const response = await handler(sqsEvent(sqsS3Message([fresh])), lambdaContext());

    // Assess
    expect(failures(response)).toEqual([]);
    const out = await readOutput('output/changed/x.csv/');
    expect(out.manifest).toMatchObject({ source: { etag: fresh.etag } });
    expect(out.rows.map((row) => row.id)).toEqual(['new-1', 'new-2', 'new-3', 'new-4', 'new-5']);
  });

  it('lets one of two deliveries that run at once write the folder; the other fails as busy and its retry finds it complete', async () => {
    // Prepare
    const rows = products(60, 'c');
    const object = await upload('input/race/r.csv', csv(rows));
    const env = { EMBED_PART_ROWS: '10', EMBED_BATCH_SIZE: '7' };
    const containerA = newHandler({ env });
    const containerB = newHandler({ env });
    const event = sqsEvent(sqsS3Message([object], 'race'));

    // Act
    const responses = await Promise.all([
      containerA.handler(event, lambdaContext()),
      containerB.handler(event, lambdaContext()),
    ]);
    const retried = await containerB.handler(event, lambdaContext());

    // Assess
    expect(responses.flatMap(failures)).toEqual(['race']);
    expect(logged('embedded')).toHaveLength(1);
    // fauxqs ignores If-None-Match, so the two may both take the lease before either reads it back;
    // then the one that lost it finds out before its commit. S3 itself lets only one create it.
    expect(logged('failed')[0]).toMatchObject({
      error: {
        name: 'OutputBusyError',
        message: expect.stringMatching(/being written by another run|lost the lock/),
      },
    });
    expect(failures(retried)).toEqual([]);
    expect(logged('already complete')).toHaveLength(1);
    const out = await readOutput('output/race/r.csv/');
    expect(out.rows.map((row) => row.id)).toEqual(rows.map(([id]) => id));
    const listed = out.manifest.parts.map((part) => part.uri.slice(part.uri.lastIndexOf('/') + 1));
    expect(out.files.filter((file) => file.startsWith('part-')).sort()).toEqual(listed.sort());
    expect(listed).toHaveLength(6);
  });

  it('replaces the leftovers of a crashed attempt instead of mixing them in', async () => {
    // Prepare
    const object = await upload('input/crashed/y.csv', csv(products(8, 'y')));
    await s3.putObject(BUCKET, 'output/crashed/y.csv/part-00000.parquet', 'half-written garbage');
    await s3.putObject(BUCKET, 'output/crashed/y.csv/part-00007.parquet', 'a part of a longer, older run');
    const { handler } = newHandler();

    // Act
    const response = await handler(sqsEvent(sqsS3Message([object])), lambdaContext());

    // Assess
    expect(failures(response)).toEqual([]);
    const out = await readOutput('output/crashed/y.csv/');
    expect(out.files.filter((file) => file.startsWith('part-'))).toEqual(['part-00000.parquet']);
    expect(out.rows.map((row) => row.id)).toEqual(products(8, 'y').map(([id]) => id));
  });

  it('fails only the message whose S3 read breaks mid-file, leaves no manifest, and completes on redelivery', async () => {
    // Prepare
    const rows = products(3000, 'big');
    const body = csv(rows);
    const broken = await upload('input/flaky/big.csv', body);
    const fine = await upload('input/flaky/small.csv', csv(products(4, 's')));
    const client = s3.newClient();
    const fault = breakGetObjectBodies(client, {
      key: (key) => key === 'input/flaky/big.csv',
      afterBytes: Math.floor(body.length / 2),
    });
    const { handler } = newHandler({ store: new S3Store(client) });
    const event = sqsEvent(sqsS3Message([broken], 'flaky'), sqsS3Message([fine], 'fine'));

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(fault.broken).toBe(1);
    expect(failures(response)).toEqual(['flaky']);
    expect(await hasManifest('output/flaky/big.csv/')).toBe(false);
    expect(await hasManifest('output/flaky/small.csv/')).toBe(true);
    expect(logged('failed')[0]).toMatchObject({ key: 'input/flaky/big.csv', messageId: 'flaky' });

    // Act: SQS delivers the failed message again
    const retry = await handler(sqsEvent(sqsS3Message([broken], 'flaky')), lambdaContext());

    // Assess
    expect(failures(retry)).toEqual([]);
    const out = await readOutput('output/flaky/big.csv/');
    expect(out.rows).toHaveLength(3000);
    expect(new Set(out.rows.map((row) => row.id)).size).toBe(3000);
    client.destroy();
  });

  it('ignores s3:TestEvent, keys under output/, outside input/ and with other suffixes', async () => {
    // Prepare
    const underOutput = await upload('output/some/part.csv', csv(products(2)));
    const outside = await upload('elsewhere/z.csv', csv(products(2)));
    const readme = await upload('input/readme.txt', 'not data');
    const { handler } = newHandler();
    const requestsBefore = server.stats.requests;

    // Act
    const response = await handler(
      sqsEvent(
        { body: s3TestEventBody(BUCKET), messageId: 'test-event' },
        sqsS3Message([underOutput, outside, readme]),
      ),
      lambdaContext(),
    );

    // Assess
    expect(failures(response)).toEqual([]);
    expect(server.stats.requests).toBe(requestsBefore);
    expect(await s3.listKeys(BUCKET, 'output/some/part.csv/')).toEqual([]);
    expect(await s3.listKeys(BUCKET, 'output/elsewhere')).toEqual([]);
    expect(logged('ignored').map((line) => line.reason)).toEqual([
      's3:TestEvent',
      'under OUTPUT_PREFIX output/',
      'outside INPUT_PREFIX input/',
      'not a .csv, .jsonl or .ndjson file (or .gz of one)',
    ]);
  });

  it('fails a message whose body is not an S3 notification, and only that one', async () => {
    // Prepare
    const object = await upload('input/mixed/ok.csv', csv(products(2, 'ok')));
    const { handler } = newHandler();

    // Act
    const response = await handler(
      sqsEvent({ body: 'not json at all', messageId: 'garbage' }, sqsS3Message([object], 'good')),
      lambdaContext(),
    );

    // Assess
    expect(failures(response)).toEqual(['garbage']);
    expect(await hasManifest('output/mixed/ok.csv/')).toBe(true);
  });

  it('with no queue to continue on, fails with the time-limit message, no manifest and a checkpoint when the budget runs out', async () => {
    // Prepare
    const slow = await startLocalServer({ apiKey: TOKEN, dimensions: DIMENSIONS, latencyMs: 150 });
    try {
      const object = await upload('input/slow/long.csv', csv(products(400, 'l')));
      const { handler } = newHandler({
        env: { EMBEDDINGS_BASE_URL: slow.url, EMBED_BATCH_SIZE: '5', EMBED_CONCURRENCY: '1' },
      });
      // 30 s margin (the default) plus 600 ms of work: far less than 80 requests at 150 ms.
      const context = lambdaContext(30_600);

      // Act
      const started = Date.now();
      const response = await handler(sqsEvent(sqsS3Message([object], 'slow')), context);

      // Assess
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(failures(response)).toEqual(['slow']);
      expect(await hasManifest('output/slow/long.csv/')).toBe(false);
      const failed = logged('failed')[0] as { error?: { message?: string } } | undefined;
      expect(failed?.error?.message).toMatch(
        /^input\/slow\/long\.csv could not finish within the Lambda time limit \(\d+ records done and checkpointed\); the retry resumes from there$/,
      );
      expect(await s3.getBytes(BUCKET, 'output/slow/long.csv/_scratch/checkpoint.json')).toBeDefined();
    } finally {
      await slow.close();
    }
  });

  it('does not start a job when no time is left, so a complete earlier output is not touched', async () => {
    // Prepare
    const object = await upload('input/late/z.csv', csv(products(3, 'z')));
    const { handler } = newHandler();
    const requestsBefore = server.stats.requests;

    // Act
    const response = await handler(sqsEvent(sqsS3Message([object], 'late')), lambdaContext(10_000));

    // Assess
    expect(failures(response)).toEqual(['late']);
    expect(server.stats.requests).toBe(requestsBefore);
    expect(String((logged('failed')[0]?.error as { message?: string })?.message)).toContain(
      '(0 records done',
    );
  });

  it('processes a plain S3 event and throws when one of its records fails', async () => {
    // Prepare
    const good = await upload('input/direct/good.csv', csv(products(3, 'g')));
    const bad = await upload('input/direct/bad.csv', 'id,title\n1,no text column here\n');
    const { handler } = newHandler();

    // Act
    const ok = await handler(s3Event(good), lambdaContext());
    const attempt = handler(s3Event(bad), lambdaContext());

    // Assess
    expect(ok).toBeUndefined();
    expect(await hasManifest('output/direct/good.csv/')).toBe(true);
    await expect(attempt).rejects.toThrow(/text/);
    expect(await hasManifest('output/direct/bad.csv/')).toBe(false);
  });

  it('keeps the token out of every log line, error, usage.json and manifest.json', async () => {
    // Prepare
    const object = await upload('input/secret/s.csv', csv(products(20, 's')));
    const { handler } = newHandler({ secret: JSON.stringify({ token: TOKEN }) });
    const refusing = await startLocalServer({ apiKey: 'a-different-token', dimensions: DIMENSIONS });
    const refused = await upload('input/secret/refused.csv', csv(products(2, 'r')));
    const wrongKey = newHandler({ env: { EMBEDDINGS_BASE_URL: refusing.url } });

    // Act
    const response = await handler(sqsEvent(sqsS3Message([object])), lambdaContext());
    const denied = await wrongKey.handler(sqsEvent(sqsS3Message([refused], 'denied')), lambdaContext());
    await refusing.close();
    const usage = new TextDecoder().decode(await s3.getBytes(BUCKET, 'output/secret/s.csv/usage.json'));
    const manifest = new TextDecoder().decode(await s3.getBytes(BUCKET, 'output/secret/s.csv/manifest.json'));

    // Assess
    expect(failures(response)).toEqual([]);
    expect(failures(denied)).toEqual(['denied']);
    expect(logged('embedded')).toHaveLength(1);
    // A deployed function names the secret its token came from, not the CLI's variables.
    expect(logged('failed')[0]).toMatchObject({
      error: {
        name: 'AuthenticationError',
        message: expect.stringContaining(`check the secret ${SECRET_ARN} (EMBEDDINGS_API_KEY_SECRET_ARN)`),
      },
    });
    expect(JSON.stringify(logged('failed')[0])).not.toContain('IONOS_API_TOKEN');
    expect(logged('configuration')[0]).toMatchObject({ config: { apiKey: `secret ${SECRET_ARN}` } });
    expect(output.text().length).toBeGreaterThan(0);
    expect(output.text()).not.toContain(TOKEN);
    expect(usage).not.toContain(TOKEN);
    expect(manifest).not.toContain(TOKEN);
  });
});

describe('Function: handler (the exported entry point)', () => {
  let s3: LocalS3;
  let server: LocalServer;
  let output: CapturedOutput;

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(BUCKET);
    server = await startLocalServer({ apiKey: TOKEN, dimensions: DIMENSIONS });
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await server?.close();
    await s3?.stop();
  });

  it('wires the real S3 client from the standard environment (AWS_ENDPOINT_URL_S3, S3_FORCE_PATH_STYLE)', async () => {
    // Prepare
    const { etag, size } = await s3.putObject(BUCKET, 'input/wired/w.csv', csv(products(3, 'w')));
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    vi.stubEnv('S3_FORCE_PATH_STYLE', 'true');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('EMBEDDINGS_BASE_URL', server.url);
    vi.stubEnv('EMBEDDINGS_MODEL', MODEL);
    vi.stubEnv('EMBEDDINGS_API_KEY', TOKEN);
    const { handler } = await import('../../lambda/handler.ts');
    output = captureOutput();

    // Act
    let response: SQSBatchResponse | undefined;
    try {
      response = await handler(
        sqsEvent(sqsS3Message([{ bucket: BUCKET, key: 'input/wired/w.csv', etag, size }])),
        lambdaContext(),
      );
    } finally {
      output.restore();
    }

    // Assess
    expect(failures(response)).toEqual([]);
    expect(await s3.getBytes(BUCKET, 'output/wired/w.csv/manifest.json')).toBeDefined();
    expect(output.text()).not.toContain(TOKEN);
  });
});
