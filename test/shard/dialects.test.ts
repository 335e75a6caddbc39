import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { ConfigError, InputError } from '../../lambda/errors.ts';
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
async function planFixture(name: string, options = job): Promise<unknown> {
  const file = path.join(root, name);
  await store.put(file, fixtureBytes(name));
  return planLargeFile(
    file,
    path.join(root, 'out'),
    { shardBytes: 64, job: options, model: OFFLINE_MODEL, endpoint: 'offline' },
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

  it.each([
    [
      { encoding: 'cp1252' },
      'semicolon-cp1252.csv: the distributed path reads UTF-8 only, and this job reads windows-1252: embed it inline',
    ],
    [
      { delimiter: ';' },
      'semicolon.csv: the distributed path reads comma-separated CSV only, and this job reads ";": embed it inline',
    ],
  ])('refuses a job set to read %j, which the shards would not read as set', async (setting, message) => {
    // Prepare
    const options = resolveJobOptions({ model: OFFLINE_MODEL, ...setting });
    const name = message.slice(0, message.indexOf(':'));

    // Act
    const act = planFixture(name, options);

    // Assess
    await expect(act).rejects.toThrow(ConfigError);
    await expect(act).rejects.toThrow(message);
  });
});
