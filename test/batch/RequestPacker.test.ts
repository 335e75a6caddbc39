import { describe, expect, it } from 'vitest';
import { type PackerOwner, RequestPacker, splitTokens } from '../../lambda/batch/RequestPacker.ts';
import type { BatchCall, BatchEmbedder, BatchEmbedding, CallUsage } from '../../lambda/embed/types.ts';
import { AuthenticationError, JobStoppedError } from '../../lambda/errors.ts';
import { emptyRequestStats } from '../../lambda/types.ts';

/** An embedder whose answers the test releases by hand, and which is idle when the test says so. */
function controlledEmbedder() {
  const calls: { texts: readonly string[]; answer: () => void; fail: (e: unknown) => void }[] = [];
  let idle: (() => void)[] = [];
  const embedder: BatchEmbedder = {
    requests: emptyRequestStats(),
    tokens: { prompt: 0, total: 0 },
    embedBatch(texts, _signal, call?: BatchCall) {
      const usage = call?.usage;
      return new Promise<BatchEmbedding>((resolve, reject) => {
        calls.push({
          texts,
          answer: () => {
            if (usage) {
              usage.requests.sent++;
              usage.requests.succeeded++;
              usage.requests.byStatus['200'] = 1;
              usage.tokens.prompt += texts.length * 10;
              usage.tokens.total += texts.length * 10;
            }
            resolve({ vectors: texts.map(() => new Float32Array([1])), rejected: [] });
          },
          fail: (error) => {
            if (usage) usage.requests.sent++;
            reject(error);
          },
        });
      });
    },
    whenIdle: () => new Promise<void>((resolve) => idle.push(resolve)),
  };
  const becomeIdle = () => {
    const waiting = idle;
    idle = [];
    for (const resolve of waiting) resolve();
  };
  return { embedder, calls, becomeIdle };
}

function owner(): PackerOwner & { usage: CallUsage } {
  const usage: CallUsage = { requests: emptyRequestStats(), tokens: { prompt: 0, total: 0 } };
  return {
    usage,
    charge(u) {
      usage.tokens.total += u.tokens.total;
      usage.tokens.prompt += u.tokens.prompt;
      usage.requests.sent += u.requests.sent;
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const limits = () => ({ maxInputs: 4, maxTokens: 1_000, maxBytes: 100_000 });

describe('Unit: RequestPacker', () => {
  it('sends the first request alone, then full requests of texts from several owners', async () => {
    // Arrange
    const { embedder, calls } = controlledEmbedder();
    const packer = new RequestPacker(embedder, { limits });
    const [a, b] = [owner(), owner()];

    // Act: 10 texts of two owners, interleaved
    const slots = Array.from({ length: 10 }, (_, i) => packer.add(i % 2 ? b : a, `text ${i}`));
    await tick();

    // Assess: only the probe went, and it is full; the second full request waits for its answer.
    expect(calls.map((c) => c.texts.length)).toEqual([4]);
    calls[0]?.answer();
    await tick();
    expect(calls.map((c) => c.texts.length)).toEqual([4, 4]);
    // The last two texts share a request that is neither full nor waited for: not sent.
    expect(slots[9]?.request.sent).toBe(false);
    expect(new Set(slots.slice(0, 4).map((s) => s.request)).size).toBe(1);
  });

  it('sends a request that is not full only once someone waits for it and the embedder is idle', async () => {
    // Arrange: the probe answered
    const { embedder, calls, becomeIdle } = controlledEmbedder();
    const packer = new RequestPacker(embedder, { limits });
    const a = owner();
    const probe = packer.add(a, 'probe');
    void packer.want(probe.request);
    await tick();
    calls[0]?.answer();
    await probe.request.done;

    // Act
    const slot = packer.add(a, 'one');
    await tick();
    const sentBeforeWanted = calls.length;
    const answered = packer.want(slot.request);
    packer.add(owner(), 'two'); // still packing: it joins the request
    await tick();
    const sentBeforeIdle = calls.length;
    becomeIdle();
    await tick();

    // Assess
    expect([sentBeforeWanted, sentBeforeIdle, calls.length]).toEqual([1, 1, 2]);
    expect(calls[1]?.texts).toEqual(['one', 'two']);
    calls[1]?.answer();
    await answered;
    expect(slot.request.vectorAt(slot.index).vector).toBeDefined();
  });

  it('charges each owner its share of the tokens, and each request to every owner it carried', async () => {
    // Arrange
    const { embedder, calls } = controlledEmbedder();
    const packer = new RequestPacker(embedder, { limits });
    const [a, b] = [owner(), owner()];

    // Act: a full request of three texts of a and one of b
    for (const [who, text] of [
      [a, 'aaa'],
      [a, 'aaa'],
      [b, 'bbb'],
      [a, 'aaa'],
    ] as const)
      packer.add(who, text);
    await tick();
    calls[0]?.answer();
    await tick();

    // Assess: 40 tokens, split 30/10 by the texts' estimates; one request for each
    expect([a.usage.tokens.total, b.usage.tokens.total]).toEqual([30, 10]);
    expect([a.usage.requests.sent, b.usage.requests.sent]).toEqual([1, 1]);
    expect(splitTokens([1, 1, 1], { prompt: 10, total: 10 }).map((t) => t.total)).toEqual([4, 3, 3]);
  });

  it('after bad credentials sends nothing more: requests not sent fail with the same error', async () => {
    // Arrange
    const { embedder, calls } = controlledEmbedder();
    const packer = new RequestPacker(embedder, { limits });
    const a = owner();
    const slots = Array.from({ length: 9 }, (_, i) => packer.add(a, `t${i}`));
    const error = new AuthenticationError('401', { status: 401 });

    // Act
    calls[0]?.fail(error);
    await tick();

    // Assess
    expect(calls).toHaveLength(1);
    expect(packer.fatal).toBe(error);
    await expect(slots[5]?.request.done).rejects.toBe(error);
    await expect(slots[8]?.request.done).rejects.toBe(error);
    expect(() => packer.add(a, 'more')).toThrow(error);
  });

  it('on stop fails every request not sent yet, and keeps the one in flight', async () => {
    // Arrange
    const { embedder, calls } = controlledEmbedder();
    const stop = new AbortController();
    const packer = new RequestPacker(embedder, { limits, stop: stop.signal });
    const a = owner();
    const slots = Array.from({ length: 6 }, (_, i) => packer.add(a, `t${i}`));

    // Act
    stop.abort();
    calls[0]?.answer();

    // Assess
    await expect(slots[0]?.request.done).resolves.toBeUndefined();
    await expect(slots[5]?.request.done).rejects.toBeInstanceOf(JobStoppedError);
    expect(calls).toHaveLength(1);
  });
});
