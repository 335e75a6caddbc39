import { ConfigError } from '../errors.ts';
import type { ApiKeySource } from './loadConfig.ts';
import type { SecretReader } from './readSecret.ts';

/** The endpoint's token, fetched once and kept for the container's life. */
export interface ApiKeyProvider {
  /** The token, or undefined when none is configured. Reads the secret on first use only. */
  get(): Promise<string | undefined>;
  /**
   * Forgets the cached token, so the next `get` reads the secret again: after
   * the endpoint refused it (the secret may have been rotated) or a failed read.
   */
  invalidate(): void;
}

/**
 * Caches the token per container. A failed read is not cached, so a passing
 * Secrets Manager fault costs one invocation, not the container.
 */
export function createApiKeyProvider(source: ApiKeySource, readSecret: SecretReader): ApiKeyProvider {
  let cached: Promise<string> | undefined;
  return {
    async get() {
      if (source.kind === 'none') return undefined;
      if (source.kind === 'env') return source.value();
      if (cached === undefined) {
        const reading = readSecret(source.arn).then((value) => apiKeyFromSecret(value, source.arn));
        cached = reading;
        reading.catch(() => {
          if (cached === reading) cached = undefined;
        });
      }
      return cached;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

/**
 * The token in a secret's value: the plain string, or the `apiKey` (else
 * `token`) field of a JSON object, the two shapes people store.
 *
 * @throws ConfigError naming the ARN and what is wrong, never the value.
 */
export function apiKeyFromSecret(value: string, arn: string): string {
  const trimmed = value.trim();
  if (!trimmed.startsWith('{')) {
    if (trimmed === '') throw new ConfigError(`secret ${arn} is empty`);
    return trimmed;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    // JSON.parse's message quotes the text around the fault: never pass it on.
    throw new ConfigError(`secret ${arn} starts with "{" but is not valid JSON`);
  }
  const fields = parsed as { apiKey?: unknown; token?: unknown };
  for (const candidate of [fields.apiKey, fields.token]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate.trim();
  }
  throw new ConfigError(`secret ${arn} is JSON without a non-empty "apiKey" or "token" string field`);
}
