import { describe, expect, it } from 'vitest';
import { createEmbedder } from '../../lambda/embed/createEmbedder.ts';
import { featureHashEmbed, OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { HttpEmbeddingsClient } from '../../lambda/embed/HttpEmbeddingsClient.ts';
import { IONOS_BASE_URL } from '../../lambda/embed/modelFacts.ts';
import { OfflineTransport } from '../../lambda/embed/OfflineTransport.ts';
import { ConfigError } from '../../lambda/errors.ts';
import { CLI_FLAGS } from '../../lambda/optionNames.ts';

describe('Function: createEmbedder', () => {
  it('uses the offline embedder without an API key and without a base URL', async () => {
    // Act
    const created = createEmbedder({ model: 'BAAI/bge-m3', concurrency: 2, apiKey: '  ', baseUrl: '' });
    const result = await created.embedder.embedBatch(['hello']);

    // Assess
    expect(created.offline).toBe(true);
    expect(created.transport).toBeInstanceOf(OfflineTransport);
    expect(created.transport.model).toBe(OFFLINE_MODEL);
    expect(created.embedder.dimensions).toBe(384);
    expect(result.vectors).toEqual([featureHashEmbed('hello', 384)]);
  });

  it('defaults to IONOS with its 5/s rate, evenly paced, when only an API key is given', () => {
    // Act
    const created = createEmbedder({ model: 'BAAI/bge-m3', concurrency: 4, apiKey: 'secret-key' });

    // Assess
    expect(created.offline).toBe(false);
    expect(created.transport).toBeInstanceOf(HttpEmbeddingsClient);
    expect(created.transport.endpoint).toBe(IONOS_BASE_URL);
    expect(created.limiter).toMatchObject({ rps: 5, burst: 1, maxConcurrency: 4 });
  });

  it('lets --rps override the IONOS default', () => {
    // Act
    const created = createEmbedder({
      model: 'm',
      concurrency: 4,
      apiKey: 'k',
      baseUrl: IONOS_BASE_URL,
      rps: 2,
    });

    // Assess
    expect(created.limiter).toMatchObject({ rps: 2, burst: 1 });
  });

  it('sets no fixed rate for other endpoints', () => {
    // Act
    const created = createEmbedder({
      model: 'm',
      concurrency: 8,
      baseUrl: 'http://127.0.0.1:9/v1',
      tpm: 1000,
    });

    // Assess
    expect(created.limiter).toMatchObject({ rps: undefined, burst: undefined, tpm: 1000 });
    expect(created.transport.endpoint).toBe('http://127.0.0.1:9/v1');
  });

  it('keeps the API key out of everything it returns', () => {
    // Prepare
    const apiKey = 'sk-very-secret-123456';

    // Act
    const created = createEmbedder({ model: 'm', concurrency: 1, apiKey });

    // Assess
    expect(JSON.stringify(created.transport)).not.toContain(apiKey);
    expect(JSON.stringify(created.embedder)).not.toContain(apiKey);
  });

  it.each([
    [{ rps: 0 }, 'Expected `rps` to be a positive number, got 0'],
    [{ tpm: -5 }, 'Expected `tpm` to be a positive number, got -5'],
    [{ burst: 2, baseUrl: 'http://127.0.0.1:9/v1' }, 'Expected `burst` only together with `rps`'],
    [{ concurrency: 0 }, 'Expected `concurrency` to be a positive integer, got 0'],
    [{ concurrency: 1.5 }, 'Expected `concurrency` to be a positive integer, got 1.5'],
    [{ dimensions: -1 }, 'Expected `dimensions` to be a positive integer, got -1'],
    [{ timeoutMs: 0 }, 'Expected `timeoutMs` to be a positive integer, got 0'],
    [{ baseUrl: 'localhost:8080' }, 'Expected `baseUrl` to be an http(s) URL, got "localhost:8080"'],
    [{ baseUrl: 'ftp://example.com' }, 'Expected `baseUrl` to be an http(s) URL, got "ftp://example.com"'],
    [{ baseUrl: 'https://user:pw@example.com/v1' }, 'Expected `baseUrl` without credentials'],
    [{ maxRetryWait: 0 }, 'Expected `maxRetryWait` to be a positive number, got 0'],
    [{ model: ' ' }, 'Expected `model` to be a model id, got an empty value'],
    [{ encoding: 'hex' }, 'Expected `encoding` to be "base64" or "float", got "hex"'],
  ])('refuses %j with a ConfigError naming the option', (override, message) => {
    // Act
    const act = () => createEmbedder({ model: 'm', concurrency: 2, ...(override as object) });

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(message);
  });

  it.each([
    [{ rps: 0 }, 'Expected `--rps` to be a positive number, got 0'],
    [{ burst: 2, baseUrl: 'http://127.0.0.1:9/v1' }, 'Expected `--burst` only together with `--rps`'],
    [{ timeoutMs: 0 }, 'Expected `--timeout-ms` to be a positive integer, got 0'],
    [{ baseUrl: 'ftp://example.com' }, 'Expected `--base-url` to be an http(s) URL, got "ftp://example.com"'],
  ])('refuses %j naming the CLI flag when the CLI calls it', (override, message) => {
    // Act
    const act = () => createEmbedder({ model: 'm', concurrency: 2, ...(override as object) }, CLI_FLAGS);

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(message);
  });

  it.each(['htp://alice:PaSsWoRd42@host/v1', 'alice:PaSsWoRd42@host/v1', 'https://alice:PaSsWoRd42@host/v1'])(
    'never echoes the password of %s',
    (baseUrl) => {
      // Act
      const error = (() => {
        try {
          createEmbedder({ model: 'm', concurrency: 2, baseUrl });
        } catch (caught) {
          return caught as Error;
        }
        throw new Error('expected a ConfigError');
      })();

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/^Expected `baseUrl`/);
      expect(`${error.message} ${error.stack}`).not.toContain('PaSsWoRd42');
    },
  );
});
