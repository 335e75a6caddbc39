/**
 * Turns the texts of one or many files into requests: the packer between the
 * files' readers and the embedder.
 */
import { estimateTokens } from '../embed/modelFacts.ts';
import type { BatchEmbedder, BatchEmbedding, CallUsage } from '../embed/types.ts';
import { isFatalForJob, JobStoppedError } from '../errors.ts';
import { emptyRequestStats } from '../types.ts';
import { BatchBuilder, type BatchLimits } from './BatchBuilder.ts';

/** Someone whose texts ride in requests: charged with its share of each when it settles. */
export interface PackerOwner {
  /**
   * Its share of one request: the tokens in proportion to its texts' estimates
   * (shares of one request add up to what the server counted), and the whole
   * request's attempts (a request that carried texts of several owners counts
   * for each of them).
   */
  charge(usage: CallUsage): void;
}

/** One request being packed, waiting, in flight or answered. */
export class PackedRequest {
  readonly texts: string[] = [];
  /** Each owner's estimated tokens in this request. */
  readonly shares = new Map<PackerOwner, number>();
  result: BatchEmbedding | undefined;
  /** Why it failed: the embedder's error, or `JobStoppedError` for a request never sent. */
  error: unknown;
  /** Settles when the answer came (resolves) or the request failed (rejects). */
  readonly done: Promise<void>;
  /** Someone waits for it: send it when the endpoint has room, full or not. */
  wanted = false;
  /** Handed to the embedder. */
  sent = false;
  #settle!: (error?: unknown) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Handled by whoever waits for it; this keeps a failure nobody awaits yet from being reported as unhandled.
    this.done.catch(() => undefined);
  }

  /** Whether it ended, either way. */
  get settled(): boolean {
    return this.result !== undefined || this.error !== undefined;
  }

  /** The vector of input `index`, or why there is none. */
  vectorAt(index: number): { vector?: Float32Array; reason?: string } {
    const vector = this.result?.vectors[index];
    if (vector) return { vector };
    const refused = this.result?.rejected.find((r) => r.index === index);
    return { reason: refused?.reason ?? 'the endpoint returned no vector' };
  }

  /** @internal */
  answer(result: BatchEmbedding): void {
    this.result = result;
    this.#settle();
  }

  /** @internal */
  fail(error: unknown): void {
    this.error = error;
    this.#settle(error);
  }
}

/** Where one text's vector will be: a slot of a request. */
export interface Slot {
  readonly request: PackedRequest;
  readonly index: number;
}

/** Options of {@link RequestPacker}. */
export interface RequestPackerOptions {
  /** The request limits, asked again for each new request (a 413 may have lowered `maxInputs`). */
  readonly limits: () => BatchLimits;
  /** Once aborted, nothing more is sent: requests not sent yet fail with `JobStoppedError`. */
  readonly stop?: AbortSignal;
}

/**
 * Packs texts, whoever they belong to, into requests, and sends them:
 *
 * - a request goes as soon as it is full;
 * - one that is not full goes when someone waits for it (`want`) and the
 *   embedder is idle (`whenIdle`): while earlier requests still queue for the
 *   rate, texts of other files keep filling it, so a folder of small files
 *   goes out in full requests;
 * - the very first request goes alone, and nothing else until it is
 *   answered: bad credentials or an unknown model cost one request per
 *   packer (per command, per invocation), not one per file;
 * - after a fatal error (`isFatalForJob`) nothing more is sent: requests not
 *   sent yet fail with that error, and `fatal` says it.
 */
export class RequestPacker {
  readonly #embedder: BatchEmbedder;
  readonly #options: RequestPackerOptions;
  #open: PackedRequest | undefined;
  #builder: BatchBuilder | undefined;
  /** The open request's `maxInputs`, asked once when it opened. */
  #maxInputs = 0;
  /** Closed and waiting for the first answer. */
  readonly #held: PackedRequest[] = [];
  #probe: 'none' | 'out' | 'passed' = 'none';
  #fatal: unknown;
  #idleWait = false;

  constructor(embedder: BatchEmbedder, options: RequestPackerOptions) {
    this.#embedder = embedder;
    this.#options = options;
    options.stop?.addEventListener('abort', () => this.#failUnsent(new JobStoppedError()), { once: true });
  }

  /** The error that stopped all sending (bad credentials, unknown model); undefined while none did. */
  get fatal(): unknown {
    return this.#fatal;
  }

  /** Adds `text` for `owner` to the request being packed; returns where its vector will be. */
  add(owner: PackerOwner, text: string): Slot {
    if (this.#fatal !== undefined) throw this.#fatal;
    if (this.#options.stop?.aborted) throw new JobStoppedError();
    if (this.#builder !== undefined && !this.#builder.fits(text)) this.#close();
    if (this.#open === undefined || this.#builder === undefined) {
      this.#open = new PackedRequest();
      const limits = this.#options.limits();
      this.#builder = new BatchBuilder(limits);
      this.#maxInputs = limits.maxInputs;
    }
    const request = this.#open;
    const index = this.#builder.add(text);
    request.texts.push(text);
    request.shares.set(owner, (request.shares.get(owner) ?? 0) + estimateTokens(text));
    if (this.#builder.size >= this.#maxInputs) this.#close();
    return { request, index };
  }

  /** Waits for `request`'s answer, sending it first when it is still being packed. */
  want(request: PackedRequest): Promise<void> {
    if (!request.settled && !request.wanted) {
      request.wanted = true;
      if (request === this.#open) this.#sendOpenWhenIdle();
    }
    return request.done;
  }

  #sendOpenWhenIdle(): void {
    if (this.#idleWait) return;
    const open = this.#open;
    if (open === undefined || !open.wanted) return;
    // The first request goes at once: it is the probe, and nothing else is out.
    if (this.#probe === 'none' || this.#embedder.whenIdle === undefined) {
      this.#close();
      return;
    }
    this.#idleWait = true;
    void this.#embedder.whenIdle().then(() => {
      this.#idleWait = false;
      // The probe not answered yet: its answer sends what waits.
      if (this.#probe === 'out') return;
      if (this.#open?.wanted) this.#close();
    });
  }

  #close(): void {
    const request = this.#open;
    this.#open = undefined;
    this.#builder = undefined;
    if (request === undefined || request.texts.length === 0) return;
    this.#held.push(request);
    this.#release();
  }

  /** Sends what the probe rule allows. */
  #release(): void {
    if (this.#fatal !== undefined || this.#options.stop?.aborted) return;
    if (this.#probe === 'none') {
      const first = this.#held.shift();
      if (first === undefined) return;
      this.#probe = 'out';
      this.#send(first, true);
      return;
    }
    if (this.#probe === 'out') return;
    for (const request of this.#held.splice(0)) this.#send(request, false);
  }

  #send(request: PackedRequest, probe: boolean): void {
    request.sent = true;
    const usage: CallUsage = { requests: emptyRequestStats(), tokens: { prompt: 0, total: 0 } };
    this.#embedder.embedBatch(request.texts, undefined, { usage, stopSending: this.#options.stop }).then(
      (result) => {
        this.#charge(request, usage);
        request.answer(result);
        if (probe) this.#probePassed();
      },
      (error: unknown) => {
        this.#charge(request, usage);
        if (isFatalForJob(error)) {
          this.#fatal ??= error;
          request.fail(error);
          this.#failUnsent(error);
          return;
        }
        request.fail(error);
        if (probe) this.#probePassed();
      },
    );
  }

  #probePassed(): void {
    this.#probe = 'passed';
    this.#release();
    // A request waited for while the probe was out goes now.
    this.#sendOpenWhenIdle();
  }

  /** Requests not sent yet fail with `error`: nothing more will be sent. */
  #failUnsent(error: unknown): void {
    const open = this.#open;
    this.#open = undefined;
    this.#builder = undefined;
    for (const request of this.#held.splice(0)) request.fail(error);
    if (open !== undefined && open.texts.length > 0) open.fail(error);
  }

  #charge(request: PackedRequest, usage: CallUsage): void {
    const owners = [...request.shares.entries()];
    const tokens = splitTokens(
      owners.map(([, estimate]) => estimate),
      usage.tokens,
    );
    owners.forEach(([owner], i) => {
      owner.charge({
        requests: { ...usage.requests, byStatus: { ...usage.requests.byStatus } },
        tokens: tokens[i] ?? { prompt: 0, total: 0 },
      });
    });
  }
}

/** Splits counted tokens in proportion to `weights`, in whole tokens that add up (largest remainder). */
export function splitTokens(weights: readonly number[], tokens: CallUsage['tokens']): CallUsage['tokens'][] {
  const prompt = apportion(weights, tokens.prompt);
  const total = apportion(weights, tokens.total);
  return weights.map((_, i) => ({ prompt: prompt[i] ?? 0, total: total[i] ?? 0 }));
}

function apportion(weights: readonly number[], amount: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (weights.length === 0) return [];
  if (sum <= 0) return weights.map((_, i) => (i === 0 ? amount : 0));
  const exact = weights.map((w) => (amount * w) / sum);
  const whole = exact.map(Math.floor);
  let left = amount - whole.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (left <= 0) break;
    whole[i] = (whole[i] ?? 0) + 1;
    left--;
  }
  return whole;
}
