import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { readSecret } from '../../lambda/aws/readSecret.ts';
import { ConfigError } from '../../lambda/errors.ts';

const ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:token-AbCdEf';

/** A stand-in Secrets Manager client: the only mocked AWS service in the suite. */
function fakeClient(answer: () => Promise<unknown>): { client: SecretsManagerClient; inputs: unknown[] } {
  const inputs: unknown[] = [];
  const client = {
    send: async (command: { input: unknown }) => {
      inputs.push(command.input);
      return answer();
    },
  } as unknown as SecretsManagerClient;
  return { client, inputs };
}

describe('Function: readSecret', () => {
  it('returns SecretString, asking by ARN', async () => {
    // Prepare
    const { client, inputs } = fakeClient(async () => ({ SecretString: '{"apiKey":"k"}' }));

    // Act
    const value = await readSecret(ARN, client);

    // Assess
    expect(value).toBe('{"apiKey":"k"}');
    expect(inputs).toEqual([{ SecretId: ARN }]);
  });

  it('decodes SecretBinary as UTF-8', async () => {
    // Prepare
    const { client } = fakeClient(async () => ({ SecretBinary: new TextEncoder().encode('binary-token') }));

    // Act & Assess
    expect(await readSecret(ARN, client)).toBe('binary-token');
  });

  it('names the ARN and the variable when the read fails or the secret is empty', async () => {
    // Prepare
    const denied = fakeClient(async () => {
      throw Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    });
    const empty = fakeClient(async () => ({ SecretString: '' }));

    // Act & Assess
    await expect(readSecret(ARN, denied.client)).rejects.toThrow(
      new ConfigError(
        `cannot read secret ${ARN} (EMBEDDINGS_API_KEY_SECRET_ARN): AccessDeniedException: User is not authorized`,
      ),
    );
    await expect(readSecret(ARN, empty.client)).rejects.toThrow(
      `secret ${ARN} (EMBEDDINGS_API_KEY_SECRET_ARN) has no value`,
    );
  });
});
