import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/errors.ts';
import { FaultSchedule } from '../../lambda/serve/FaultSchedule.ts';
import { parseFault, parseFaults } from '../../lambda/serve/parseFaults.ts';

describe('Function: parseFaults', () => {
  it('parses statuses, named kinds and repeats, in order', () => {
    // Act
    const runs = parseFaults('500x3,reset,503x2,hang,wrong-count,429, nan , bad-json');

    // Assess
    expect(runs).toEqual([
      { fault: 500, times: 3 },
      { fault: 'reset', times: 1 },
      { fault: 503, times: 2 },
      { fault: 'hang', times: 1 },
      { fault: 'wrong-count', times: 1 },
      { fault: 429, times: 1 },
      { fault: 'nan', times: 1 },
      { fault: 'bad-json', times: 1 },
    ]);
  });

  it('reads an empty script as no faults', () => {
    // Act
    const runs = parseFaults('  ');

    // Assess
    expect(runs).toEqual([]);
  });

  it('accepts repeats of named kinds and any case', () => {
    // Act
    const runs = parseFaults('RESETx2,hang x 3');

    // Assess
    expect(runs).toEqual([
      { fault: 'reset', times: 2 },
      { fault: 'hang', times: 3 },
    ]);
  });

  it.each([
    ['500x3,boom', 'item 2 of `faults` ("500x3,boom")', '"boom"'],
    ['500,,503', 'item 2', 'got nothing'],
    ['500x0', 'item 1', 'repeat count of at least 1'],
    ['200', 'item 1', 'an HTTP status 400-599'],
    ['600', 'item 1', '"600"'],
    ['500x', 'item 1', '"500x"'],
  ])('rejects %j with a message naming the item', (spec, where, what) => {
    // Act
    const act = () => parseFaults(spec);

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(where);
    expect(act).toThrow(what);
  });
});

describe('Function: parseFault', () => {
  it('names the option it came from when the kind is unknown', () => {
    // Act
    const act = () => parseFault('teapot', '--fault-every');

    // Assess
    expect(act).toThrow('Expected `--fault-every` to name an HTTP status 400-599 or one of reset, hang');
  });
});

describe('Class: FaultSchedule', () => {
  it('walks the script, then the periodic fault, the script winning ties', () => {
    // Prepare
    const schedule = new FaultSchedule(parseFaults('500x2,reset'), { every: 2, fault: 'nan' });

    // Act
    const faults = Array.from({ length: 8 }, () => schedule.next());

    // Assess
    expect(faults).toEqual([500, 500, 'reset', 'nan', undefined, 'nan', undefined, 'nan']);
  });
});
