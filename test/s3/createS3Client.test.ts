import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../lambda/errors.ts';
import { createS3Client } from '../../lambda/store/createS3Client.ts';

describe('Function: createS3Client', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('uses path-style addressing only when S3_FORCE_PATH_STYLE=true', async () => {
    // Act
    const on = createS3Client({ S3_FORCE_PATH_STYLE: 'true' }, { region: 'us-east-1' });
    const off = createS3Client({}, { region: 'us-east-1' });

    // Assess
    expect(on.config.forcePathStyle).toBe(true);
    expect(off.config.forcePathStyle).toBeFalsy();
    on.destroy();
    off.destroy();
  });

  it('refuses a value that is neither true nor false, naming the variable', () => {
    // Act & Assess
    expect(() => createS3Client({ S3_FORCE_PATH_STYLE: 'yes' })).toThrow(
      new ConfigError('Expected `S3_FORCE_PATH_STYLE` to be true or false, got "yes"'),
    );
  });
});
