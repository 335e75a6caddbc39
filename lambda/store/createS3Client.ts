import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigError } from '../errors.ts';

/**
 * Builds the S3 client every S3 user of the project shares.
 *
 * Everything comes from the SDK's standard settings (region, credentials,
 * retries, and the endpoint: the SDK itself reads `AWS_ENDPOINT_URL_S3` or
 * `AWS_ENDPOINT_URL`, so a local S3-compatible server needs no code here).
 * The one addition is `S3_FORCE_PATH_STYLE=true`, because local servers rarely
 * resolve `bucket.host` names and the SDK has no environment variable for it.
 *
 * @param env - where `S3_FORCE_PATH_STYLE` is read. @default process.env
 * @param overrides - client settings that win over the environment (tests).
 * @throws ConfigError when `S3_FORCE_PATH_STYLE` is neither `true` nor `false`.
 */
export function createS3Client(
  env: NodeJS.ProcessEnv = process.env,
  overrides: S3ClientConfig = {},
): S3Client {
  const forcePathStyle = parseBoolean(env.S3_FORCE_PATH_STYLE, 'S3_FORCE_PATH_STYLE');
  return new S3Client({ ...(forcePathStyle ? { forcePathStyle } : {}), ...overrides });
}

function parseBoolean(raw: string | undefined, name: string): boolean {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new ConfigError(`Expected \`${name}\` to be true or false, got ${JSON.stringify(raw)}`);
}
