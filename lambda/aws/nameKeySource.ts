import { AuthenticationError } from '../errors.ts';
import type { ApiKeySource } from './loadConfig.ts';

/** The CLI's advice in an authentication error, which a deployed function replaces with where its key comes from. */
const CLI_ADVICE = /check EMBEDDINGS_API_KEY \/ IONOS_API_TOKEN/;

/**
 * An authentication error as a deployed function should report it: naming
 * the secret (or variable) its token came from, not the CLI's variables.
 * Other errors pass through unchanged.
 */
export function nameKeySource(error: unknown, source: ApiKeySource): unknown {
  if (!(error instanceof AuthenticationError)) return error;
  const where =
    source.kind === 'secret'
      ? `check the secret ${source.arn} (EMBEDDINGS_API_KEY_SECRET_ARN)`
      : source.kind === 'env'
        ? `check ${source.variable}`
        : 'the function has no API key (set EMBEDDINGS_API_KEY_SECRET_ARN)';
  const message = CLI_ADVICE.test(error.message)
    ? error.message.replace(CLI_ADVICE, where)
    : `${error.message}; ${where}`;
  // No cause: it would carry the CLI's advice into the logs again.
  return new AuthenticationError(message, {
    status: error.status,
    retryAfterMs: error.retryAfterMs,
    serverMessage: error.serverMessage,
  });
}
