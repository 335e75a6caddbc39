import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, spawnCli } from '../helpers/cli.ts';
import { readOutputFolder } from '../helpers/readOutput.ts';

let cwd: string;

beforeEach(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'embed-batch-bin-'));
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('Binary: embed-batch', () => {
  it('runs the quick-start demo offline: output folder, similarity and search', async () => {
    // Act
    const result = await spawnCli(['demo'], cleanEnv(), cwd);

    // Assess
    expect(result.status, result.raw).toBe(0);
    expect(result.stderr.join('\n')).toMatch(/offline embedder/);
    expect(result.stdout.join('\n')).toMatch(/Output: out\/fixtures\/products\.csv\//);
    const output = await readOutputFolder(path.join(cwd, 'out', 'fixtures', 'products.csv'));
    expect(output.rows).toHaveLength(40);
    const similarity = Number(result.stdout.find((l) => /^0\.\d{4}$/.test(l)));
    expect(similarity).toBeGreaterThan(0.5);
    expect(result.stdout.some((l) => /^1\. 0\.\d{4}\s+P-1007/.test(l))).toBe(true);
  });

  it('exits 1 with one line on stderr for an unreadable input, and writes no manifest', async () => {
    // Act
    const result = await spawnCli(['run', 'missing.csv', '--out', 'out'], cleanEnv(), cwd);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr.filter((l) => l.startsWith('embed-batch: error:'))).toHaveLength(1);
    expect(result.stderr.join('\n')).toContain('missing.csv');
    expect(existsSync(path.join(cwd, 'out'))).toBe(false);
  });

  it('exits 1 when serve-local cannot start: a port in use, a bad flag, bad --faults', async () => {
    // Prepare: something already listens on the port.
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;

    try {
      // Act
      const results = await Promise.all([
        spawnCli(['serve-local', '--port', String(port)], cleanEnv(), cwd),
        spawnCli(['serve-local', '--prot', '8080'], cleanEnv(), cwd),
        spawnCli(['serve-local', '--port', '0', '--faults', 'explode'], cleanEnv(), cwd),
      ]);

      // Assess
      expect(results.map((r) => r.status)).toEqual([1, 1, 1]);
      for (const result of results) {
        expect(result.stderr.filter((l) => l.startsWith('embed-batch: error:'))).toHaveLength(1);
      }
      expect(results[0]!.stderr.join('\n')).toContain(String(port));
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
