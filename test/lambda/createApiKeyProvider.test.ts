import { describe, expect, it } from 'vitest';
import { apiKeyFromSecret, createApiKeyProvider } from '../../lambda/aws/createApiKeyProvider.ts';
import { ConfigError } from '../../lambda/errors.ts';

const ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:token-AbCdEf';

describe('Function: apiKeyFromSecret', () => {
  it.each([
    ['plain-token\n', 'plain-token'],
    ['{"apiKey": "from-api-key"}', 'from-api-key'],
    ['{"token": "from-token"}', 'from-token'],
    ['{"apiKey": "", "token": "fallback"}', 'fallback'],
  ])('reads %j', (value, token) => {
    // Act & Assess
    expect(apiKeyFromSecret(value, ARN)).toBe(token);
  });

  it.each([
    ['   ', `secret ${ARN} is empty`],
    ['{"apiKey": "sk-leak', `secret ${ARN} starts with "{" but is not valid JSON`],
    ['{"password": "sk-leak"}', `secret ${ARN} is JSON without a non-empty "apiKey" or "token" string field`],
  ])('refuses %j without quoting it', (value, message) => {
    // Act & Assess
    expect(() => apiKeyFromSecret(value, ARN)).toThrow(new ConfigError(message));
  });
});

describe('Function: createApiKeyProvider', () => {
  it('reads the secret once and caches it', async () => {
    // Prepare
    const reads: string[] = [];
    const provider = createApiKeyProvider({ kind: 'secret', arn: ARN }, async (arn) => {
      reads.push(arn);
      return '{"apiKey":"k"}';
    });

    // Act
    const values = [await provider.get(), await provider.get(), await provider.get()];

    // Assess
    expect(values).toEqual(['k', 'k', 'k']);
    expect(reads).toEqual([ARN]);
  });

  it('does not cache a failed read, and reads again after invalidate', async () => {
    // Prepare
    let calls = 0;
    const provider = createApiKeyProvider({ kind: 'secret', arn: ARN }, async () => {
      calls++;
      if (calls === 1) throw new Error('throttled');
      return `key-${calls}`;
    });

    // Act
    const first = provider.get();
    await expect(first).rejects.toThrow('throttled');
    const second = await provider.get();
    provider.invalidate();
    const third = await provider.get();

    // Assess
    expect([second, third]).toEqual(['key-2', 'key-3']);
  });

  it('answers the environment token or none without reading a secret', async () => {
    // Prepare
    const never = async (): Promise<string> => {
      throw new Error('must not be called');
    };

    // Act & Assess
    expect(await createApiKeyProvider({ kind: 'env', variable: 'X', value: () => 'e' }, never).get()).toBe(
      'e',
    );
    expect(await createApiKeyProvider({ kind: 'none' }, never).get()).toBeUndefined();
  });
});
