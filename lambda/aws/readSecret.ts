import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../errors.ts';

/** Reads a secret's value by ARN; the seam that tests replace with a fake. */
export type SecretReader = (arn: string) => Promise<string>;

let defaultClient: SecretsManagerClient | undefined;

/**
 * Reads a Secrets Manager secret as text (`SecretString`, or `SecretBinary`
 * decoded as UTF-8). Callers cache the result: it is read once per container.
 *
 * @param client - @default one client per container, built on first use with the SDK's standard settings
 * @throws ConfigError naming the ARN (never the value) when it cannot be read or is empty.
 */
export async function readSecret(arn: string, client?: SecretsManagerClient): Promise<string> {
  if (client === undefined) defaultClient ??= new SecretsManagerClient({});
  const secrets = client ?? (defaultClient as SecretsManagerClient);
  let value: string | undefined;
  try {
    const response = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
    value =
      response.SecretString ?? (response.SecretBinary && Buffer.from(response.SecretBinary).toString('utf8'));
  } catch (error) {
    // AWS error messages name the secret and the principal, never the value.
    throw new ConfigError(
      `cannot read secret ${arn} (EMBEDDINGS_API_KEY_SECRET_ARN): ${(error as Error).name}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`secret ${arn} (EMBEDDINGS_API_KEY_SECRET_ARN) has no value`);
  }
  return value;
}
