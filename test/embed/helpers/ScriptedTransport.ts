/**
 * An in-process transport that fails as scripted, then embeds with the
 * offline math: for unit tests of the retry and split logic.
 */
import { featureHashEmbed } from '../../../lambda/embed/featureHash.ts';
import type { EmbeddingsResponse, EmbeddingsTransport } from '../../../lambda/embed/types.ts';

/** What one call does: throw this error, or answer (optionally with another dimension). */
export type Step =
  | Error
  | { readonly dimensions: number }
  | ((texts: readonly string[]) => Error | undefined);

export class ScriptedTransport implements EmbeddingsTransport {
  readonly endpoint = 'scripted';
  readonly model = 'scripted-model';
  readonly calls: string[][] = [];
  readonly #steps: Step[];
  readonly #dimensions: number;

  constructor(steps: Step[] = [], dimensions = 8) {
    this.#steps = [...steps];
    this.#dimensions = dimensions;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<EmbeddingsResponse> {
    signal?.throwIfAborted();
    this.calls.push([...texts]);
    const step = this.#steps.shift();
    let dimensions = this.#dimensions;
    if (step instanceof Error) throw step;
    if (typeof step === 'function') {
      const error = step(texts);
      if (error !== undefined) throw error;
    } else if (step !== undefined) {
      dimensions = step.dimensions;
    }
    return {
      vectors: texts.map((text) => featureHashEmbed(text, dimensions)),
      promptTokens: texts.length * 2,
      totalTokens: texts.length * 3,
    };
  }

  async listModels(): Promise<string[]> {
    return [this.model];
  }
}
