import { OFFLINE_MODEL } from '../embed/featureHash.ts';
import { withoutUrlCredentials } from '../embed/redactSecret.ts';
import { ConfigError } from '../errors.ts';
import { CLI_FLAGS, type OptionNames } from '../optionNames.ts';

/** Where embeddings come from, resolved from flags and environment (flags win). */
export interface EndpointConfig {
  /** undefined: the in-process offline embedder. */
  readonly baseUrl?: string;
  readonly model: string;
  /** Kept apart from everything that is printed or written. */
  readonly apiKey?: string;
  readonly offline: boolean;
}

/** Default model when neither `--model` nor `EMBEDDINGS_MODEL` says otherwise. */
export const DEFAULT_MODEL = 'BAAI/bge-m3';

/**
 * With no API key and no base URL the job runs on the offline embedder: the
 * embedded default that works on a fresh machine with no network.
 */
export function endpointConfig(
  flags: { readonly baseUrl?: string; readonly model?: string },
  env: NodeJS.ProcessEnv = process.env,
  names: OptionNames = CLI_FLAGS,
): EndpointConfig {
  const baseUrl = clean(flags.baseUrl) ?? clean(env.EMBEDDINGS_BASE_URL);
  const apiKey = clean(env.EMBEDDINGS_API_KEY) ?? clean(env.IONOS_API_TOKEN);
  if (baseUrl !== undefined) {
    try {
      const url = new URL(baseUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    } catch {
      throw new ConfigError(
        `Expected \`${names.baseUrl}\` (or EMBEDDINGS_BASE_URL) to be an http(s) URL, got ${withoutUrlCredentials(baseUrl)}`,
      );
    }
  }
  const model = clean(flags.model) ?? clean(env.EMBEDDINGS_MODEL);
  if (baseUrl === undefined && apiKey === undefined) {
    if (model !== undefined && model !== OFFLINE_MODEL) {
      throw new ConfigError(
        `Model ${model} needs an endpoint: set EMBEDDINGS_API_KEY (or IONOS_API_TOKEN) or ${names.baseUrl}; without them only the offline model ${OFFLINE_MODEL} runs`,
      );
    }
    return { model: OFFLINE_MODEL, offline: true };
  }
  return {
    baseUrl: (baseUrl ?? IONOS_DEFAULT_BASE_URL).replace(/\/+$/, ''),
    model: model ?? DEFAULT_MODEL,
    apiKey,
    offline: false,
  };
}

const IONOS_DEFAULT_BASE_URL = 'https://openai.inference.de-txl.ionos.com/v1';

function clean(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
