import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/errors.ts';
import { maxInWindow, RequestLog } from '../../lambda/serve/RequestLog.ts';

describe('Function: maxInWindow', () => {
  it.each<[number[], number, number]>([
    [[], 1000, 0],
    [[0], 1000, 1],
    [[0, 100, 200, 300], 1000, 4],
    [[0, 999, 1000, 1999], 1000, 2],
    [[0, 10, 20, 500, 1005, 1010], 1000, 4],
    [[0, 0, 0], 1, 3],
  ])('counts times %j in windows of %d ms: %d', (times, windowMs, expected) => {
    // Act
    const count = maxInWindow(times, windowMs);

    // Assess
    expect(count).toBe(expected);
  });

  it('rejects a window that is not positive', () => {
    // Act
    const act = () => maxInWindow([1, 2], 0);

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow('Expected `windowMs` to be a positive number, got 0');
  });
});

describe('Class: RequestLog', () => {
  it('keeps entries in arrival order and counts answers once', () => {
    // Prepare
    const log = new RequestLog();

    // Act
    const first = log.open(10);
    const second = log.open(20);
    log.describe(second, 3, 'm', 'base64');
    log.finish(second, 200, 3);
    log.finish(second, 500);
    log.finish(first, 'hang');

    // Assess
    expect(log.entries).toEqual([
      { seq: 1, receivedAt: 10, status: 'hang', inputs: 0 },
      { seq: 2, receivedAt: 20, status: 200, inputs: 3, model: 'm', encoding: 'base64' },
    ]);
    expect(log.stats.requests).toBe(2);
    expect(log.stats.byStatus).toEqual({ 200: 1, hang: 1 });
    expect(log.stats.inputs).toBe(3);
    expect(log.stats.embeddedInputs).toBe(3);
  });

  it('leaves 429s out of maxAcceptedInWindow', () => {
    // Prepare
    const log = new RequestLog();
    for (const [at, status] of [
      [0, 200],
      [100, 429],
      [200, 429],
      [300, 200],
      [1200, 200],
    ] as const) {
      log.finish(log.open(at), status);
    }

    // Act
    const inOneSecond = log.stats.maxAcceptedInWindow(1000);

    // Assess
    expect(inOneSecond).toBe(2);
  });
});
