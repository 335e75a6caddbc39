import { parseArgs } from 'node:util';
import { createEmbedder } from '../embed/createEmbedder.ts';
import { CLI_FLAGS } from '../optionNames.ts';
import { endpointConfig } from './endpointConfig.ts';
import type { Io } from './io.ts';

export const MODELS_USAGE = 'Usage: embed-batch models [--base-url URL]';

/** `embed-batch models`: lists the endpoint's models (GET /models). */
export async function modelsCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { 'base-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout(MODELS_USAGE);
    return 0;
  }
  const endpoint = endpointConfig({ baseUrl: values['base-url'] }, io.env);
  const { transport } = createEmbedder({ ...endpoint, concurrency: 1 }, CLI_FLAGS);
  for (const id of await transport.listModels()) io.stdout(id);
  return 0;
}
