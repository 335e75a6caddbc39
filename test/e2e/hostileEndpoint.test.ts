import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../lambda/aws/createHandler.ts';
import { loadConfig } from '../../lambda/aws/loadConfig.ts';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { S3Store } from '../../lambda/store/S3Store.ts';
import { cleanEnv, spawnCli } from '../helpers/cli.ts';
import { failures, lambdaContext, sqsEvent, sqsS3Message } from '../helpers/events.ts';
import { HOSTILE_MODES, type HostileEndpoint, startHostileEndpoint } from '../helpers/hostileEndpoint.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';
import { secretPieces } from '../helpers/secretLeaks.ts';
import { type CapturedOutput, captureOutput } from '../lambda/captureOutput.ts';

/** Characters that URL-encoding, JSON-escaping and base64 each change; no two 8-character pieces alike. */
const TOKEN = 'tk-9f8e/7d6c+5b4a"NEVER&LOG=ME\\31415926-qwxz';
const BUCKET = 'hostile-endpoint-it';
const SECRET_ARN =
  'arn:aws:secretsmanager:eu-central-1:123456789012:secret:embed-batch/endpoint-token-AbCdEf';

/**
 * One CSV per hostile answer. The 401 comes last: bad credentials stop the
 * files after it. `mode-413` refuses only its own row, so that file completes
 * with the refusal, server words included, in errors.jsonl.
 */
function inputs(): { name: string; csv: string }[] {
  return HOSTILE_MODES.map((mode) => {
    const rows =
      mode === 'mode-413'
        ? ['plain row one', `${mode} refused row`, 'plain row three']
        : [`${mode} row one`, `${mode} row two`];
    return { name: `${mode}.csv`, csv: `id,text\n${rows.map((text, i) => `${i + 1},${text}`).join('\n')}\n` };
  });
}

async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('Hostile endpoint: the token never shows', () => {
  let endpoint: HostileEndpoint;

  beforeEach(async () => {
    endpoint = await startHostileEndpoint(TOKEN);
  });

  afterEach(async () => {
    await endpoint.close();
  });

  it('through the CLI: not on stdout, stderr or in any output file, in any form or piece', async () => {
    // Prepare
    const cwd = await mkdtemp(path.join(tmpdir(), 'embed-batch-hostile-'));
    try {
      const names: string[] = [];
      for (const { name, csv } of inputs()) {
        await writeFile(path.join(cwd, name), csv);
        names.push(name);
      }
      const env = cleanEnv({ EMBEDDINGS_API_KEY: TOKEN });
      const args = ['run', ...names, '--out', 'out', '--base-url', endpoint.url, '--model', OFFLINE_MODEL];

      // Act: retries bounded to 2 s of waiting per batch, so the retried answers fail soon; one
      // file at a time, so no request carries the texts (and the answers) of two modes.
      const result = await spawnCli(
        [...args, '--max-retry-wait', '2', '--concurrency', '1', '--files-at-once', '1'],
        env,
        cwd,
      );

      // Assess: every hostile answer was met, and failed the way it should.
      expect(result.status, result.raw).toBe(1);
      expect(new Set(endpoint.answered)).toEqual(new Set(HOSTILE_MODES));
      expect(endpoint.authorizations).toContain(`Bearer ${TOKEN}`);
      const stderr = result.stderr.join('\n');
      expect(stderr).toMatch(/mode-200-json\.csv: gave up after \d+ attempts.*invalid embeddings response/);
      expect(stderr).toMatch(/mode-200-text\.csv: .*not JSON \(HTTP 200/);
      expect(stderr).toMatch(
        /mode-400\.csv: the endpoint refused the request \(HTTP 400\): bad request from \[redacted\]/,
      );
      expect(stderr).toMatch(
        /mode-302\.csv: the endpoint redirects to https:\/\/evil\.example\/v1\/embeddings\?key=\[redacted\]/,
      );
      expect(stderr).toMatch(/mode-401\.csv: the endpoint refused the API key \(HTTP 401\)/);
      expect(result.stdout.join('\n')).toMatch(/mode-413\.csv -> .* \(2 rows embedded, 1 rejected/);

      // Assess: no piece of the token anywhere.
      expect(secretPieces(result.raw, TOKEN)).toEqual([]);
      const files = await filesBelow(path.join(cwd, 'out'));
      expect(files.some((file) => file.endsWith('errors.jsonl'))).toBe(true);
      for (const file of files) {
        expect(secretPieces(await readFile(file, 'latin1'), TOKEN), file).toEqual([]);
        expect(secretPieces(await readFile(file, 'utf8'), TOKEN), file).toEqual([]);
      }
      // The refused row's reason, the server's words, is in the completed file's errors.jsonl.
      const errorsFile = files.find((file) => file.includes('mode-413') && file.endsWith('errors.jsonl'));
      expect(await readFile(errorsFile ?? '', 'utf8')).toContain('input too long for [redacted]');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  describe('through the Lambda handler', () => {
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

    it('not in its logs (messages, causes, stacks, fields) or any object it wrote', async () => {
      // Prepare
      const handler = createHandler({
        config: loadConfig({
          EMBEDDINGS_BASE_URL: endpoint.url,
          EMBEDDINGS_MODEL: OFFLINE_MODEL,
          EMBEDDINGS_API_KEY_SECRET_ARN: SECRET_ARN,
          EMBED_CONCURRENCY: '1',
          // Long enough for a second retry, which is announced.
          EMBED_MAX_RETRY_WAIT: '3.5',
        }),
        store: new S3Store(s3.client),
        readSecret: async () => JSON.stringify({ apiKey: TOKEN }),
      });
      const messages = [];
      for (const { name, csv } of inputs()) {
        const { etag, size } = await s3.putObject(BUCKET, `input/${name}`, csv);
        messages.push(sqsS3Message([{ bucket: BUCKET, key: `input/${name}`, etag, size }], name));
      }

      // Act: one message per invocation (the event source's batch size 1), so no request
      // carries the texts (and the answers) of two modes.
      const responses = [];
      for (const message of messages) responses.push(await handler(sqsEvent(message), lambdaContext()));
      output.restore();

      // Assess: every hostile answer met; only the 413 file completed.
      expect(new Set(endpoint.answered)).toEqual(new Set(HOSTILE_MODES));
      expect(responses.flatMap(failures).sort()).toEqual(
        inputs()
          .map(({ name }) => name)
          .filter((name) => name !== 'mode-413.csv')
          .sort(),
      );
      const logs = output.json();
      const failed = logs.filter((line) => line.message === 'failed');
      expect(failed.length).toBeGreaterThanOrEqual(7);
      expect(JSON.stringify(failed)).toContain('"cause"');
      expect(logs.some((line) => line.message === 'retrying')).toBe(true);

      // Assess: no piece of the token in any log line or object.
      expect(secretPieces(output.text(), TOKEN)).toEqual([]);
      const keys = await s3.listKeys(BUCKET, 'output/');
      const errorsKey = keys.find((key) => key.includes('mode-413') && key.endsWith('errors.jsonl'));
      const errors = Buffer.from((await s3.getBytes(BUCKET, errorsKey ?? '')) ?? new Uint8Array());
      expect(errors.toString('utf8')).toContain('input too long for [redacted]');
      for (const key of keys) {
        const bytes = Buffer.from((await s3.getBytes(BUCKET, key)) ?? new Uint8Array());
        expect(secretPieces(bytes.toString('latin1'), TOKEN), key).toEqual([]);
        expect(secretPieces(bytes.toString('utf8'), TOKEN), key).toEqual([]);
      }
    });
  });
});
