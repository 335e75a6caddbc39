import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { InputError } from '../../lambda/errors.ts';
import { resolveJobOptions } from '../../lambda/resolveJobOptions.ts';
import { planLargeFile } from '../../lambda/shard/planLargeFile.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import { useTempDir } from '../helpers/embeddedRows.ts';
import { fixtureBytes } from '../helpers/readFixtures.ts';

const store = new LocalStore();
const job = resolveJobOptions({ model: OFFLINE_MODEL });

let root: string;
useTempDir((dir) => {
  root = dir;
}, 'embed-batch-shard-dialects-');

/** Plans fixtures/<name> for the distributed path, which reads UTF-8 with commas only. */
async function planFixture(name: string): Promise<unknown> {
  const file = path.join(root, name);
  await store.put(file, fixtureBytes(name));
  return planLargeFile(
    file,
    path.join(root, 'out'),
    { shardBytes: 64, job, model: OFFLINE_MODEL, endpoint: 'offline' },
    { store },
  );
}

describe('Function: planLargeFile (dialects it does not read)', () => {
  it.each([
    ['semicolon.csv', 'the header looks ";"-separated: use --delimiter \';\''],
    ['tab-separated.tsv', 'the header looks "\\t"-separated: use --delimiter tab'],
    ['utf16-bom.csv', 'the header row is not valid UTF-8'],
  ])('fails %s at planning, before any shard runs, rather than cutting it wrongly', async (name, message) => {
    // Prepare, Act
    const act = planFixture(name);

    // Assess
    await expect(act).rejects.toThrow(InputError);
    await expect(act).rejects.toThrow(message);
  });
});
