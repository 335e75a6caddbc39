import { describe, expect, it } from 'vitest';
import { featureHashEmbed, OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { OfflineTransport } from '../../lambda/embed/OfflineTransport.ts';

describe('Class: OfflineTransport', () => {
  it('embeds with the feature-hash math at 384 dimensions by default', async () => {
    // Prepare
    const transport = new OfflineTransport();

    // Act
    const response = await transport.embed(['hello world', 'abcdef']);

    // Assess
    expect(response.vectors).toEqual([featureHashEmbed('hello world', 384), featureHashEmbed('abcdef', 384)]);
    expect(response.promptTokens).toBe(4 + 2);
    expect(response.totalTokens).toBe(6);
    expect(transport.endpoint).toBe('offline');
    expect(transport.model).toBe(OFFLINE_MODEL);
  });

  it('honours the dimensions option', async () => {
    // Prepare
    const transport = new OfflineTransport({ dimensions: 16 });

    // Act
    const response = await transport.embed(['x']);

    // Assess
    expect(response.vectors[0]).toHaveLength(16);
  });

  it('lists its one model', async () => {
    // Act
    const models = await new OfflineTransport().listModels();

    // Assess
    expect(models).toEqual([OFFLINE_MODEL]);
  });

  it('refuses dimensions that are not a positive integer', () => {
    // Act
    const act = () => new OfflineTransport({ dimensions: 0 });

    // Assess
    expect(act).toThrow('Expected `dimensions` to be a positive integer, got 0');
  });
});
