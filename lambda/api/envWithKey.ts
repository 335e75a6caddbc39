/** The environment the defaults come from, with an `apiKey` option in the place of the key's variable. */
export function envWithKey(options: {
  readonly apiKey?: string;
  readonly env?: NodeJS.ProcessEnv;
}): NodeJS.ProcessEnv {
  const env = options.env ?? process.env;
  return options.apiKey === undefined ? env : { ...env, EMBEDDINGS_API_KEY: options.apiKey };
}
