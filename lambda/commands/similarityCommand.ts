import { parseArgs } from 'node:util';
import { createEmbedder } from '../embed/createEmbedder.ts';
import { cosineSimilarity } from '../embed/featureHash.ts';
import { ConfigError } from '../errors.ts';
import { CLI_FLAGS } from '../optionNames.ts';
import { endpointConfig } from './endpointConfig.ts';
import type { Io } from './io.ts';

export const SIMILARITY_USAGE =
  'Usage: embed-batch similarity "text a" "text b" [--model ID] [--base-url URL]';

/** `embed-batch similarity`: embeds two texts and prints their cosine similarity. */
export async function similarityCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      'base-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout(SIMILARITY_USAGE);
    return 0;
  }
  const [a, b, ...rest] = positionals;
  if (a === undefined || b === undefined || rest.length > 0 || a.trim() === '' || b.trim() === '') {
    throw new ConfigError(`Expected exactly two non-empty texts\n${SIMILARITY_USAGE}`);
  }
  const endpoint = endpointConfig({ baseUrl: values['base-url'], model: values.model }, io.env);
  const { embedder } = createEmbedder({ ...endpoint, concurrency: 1 }, CLI_FLAGS);
  const { vectors, rejected } = await embedder.embedBatch([a, b]);
  const [va, vb] = vectors;
  if (!va || !vb)
    throw new ConfigError(`The endpoint refused a text: ${rejected.map((r) => r.reason).join('; ')}`);
  io.stdout(cosineSimilarity(va, vb).toFixed(4));
  return 0;
}
