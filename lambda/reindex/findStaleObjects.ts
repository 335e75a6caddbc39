import type { LambdaConfig } from '../aws/loadConfig.ts';
import { outputDirFor } from '../aws/outputDirFor.ts';
import { ConfigError } from '../errors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { parseS3Uri } from '../store/uri.ts';
import type { SourceInfo } from '../types.ts';
import { staleReason } from '../write/isOutputCurrent.ts';
import { readManifest } from '../write/OutputFolder.ts';
import type { S3ObjectVersion } from './encodeS3Event.ts';

/** An input whose output is not current, with why. */
export interface StaleObject extends S3ObjectVersion {
  /** Where the job writes its output (`s3://bucket/<output prefix>.../`). */
  readonly outputDir: string;
  /** `staleReason`'s answer, e.g. `source changed`. */
  readonly reason: string;
}

/** What a scan has seen so far. `listed = ignored + upToDate + stale`, once the scan is done. */
export interface StaleScanCounts {
  /** Objects under the input prefix. */
  listed: number;
  /** Listed objects that are no input of the job (outputs, other suffixes), as the job would ignore them. */
  ignored: number;
  /** Inputs whose output is current. */
  upToDate: number;
  /** Inputs yielded as stale. */
  stale: number;
}

/** What `findStaleObjects` needs. */
export interface FindStaleObjectsOptions {
  readonly store: ObjectStore;
  readonly bucket: string;
  /**
   * The job's own settings (`loadConfig`): its key layout decides what is an
   * input and where its output goes, its model, format and dimensions what
   * counts as current.
   */
  readonly config: Pick<LambdaConfig, 'inputPrefix' | 'outputPrefix' | 'model' | 'format' | 'dimensions'>;
  /** Manifests read at once. @default 8 */
  readonly concurrency?: number;
}

/** The stale inputs, in key order, and live counts of everything looked at. Iterate it once. */
export interface StaleScan extends AsyncIterable<StaleObject> {
  /** Updated as the scan goes; final once iteration has ended. */
  readonly counts: Readonly<StaleScanCounts>;
}

/**
 * Lists `s3://<bucket>/<input prefix>` and yields every input whose output is
 * not current, by the job's own rules: `outputDirFor` maps an object to its
 * output folder (or tells it is none of the job's), and `staleReason` judges
 * the folder's manifest against the ETag in the listing and the configured
 * model, format and dimensions.
 *
 * Manifests are read `concurrency` at a time, in a window that moves along
 * the listing, so memory stays flat for any number of objects and the
 * stale objects come out in listing order. A read that fails ends the scan
 * with its error: guessing "stale" would enqueue everything on a denied read.
 */
export function findStaleObjects(options: FindStaleObjectsOptions): StaleScan {
  const concurrency = options.concurrency ?? 8;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new ConfigError(`Expected \`concurrency\` to be a positive integer, got ${concurrency}`);
  }
  const { store, bucket, config } = options;
  const counts: StaleScanCounts = { listed: 0, ignored: 0, upToDate: 0, stale: 0 };

  const check = async (
    info: SourceInfo,
    key: string,
    outputDir: string,
  ): Promise<StaleObject | undefined> => {
    const reason = staleReason(await readManifest(store, outputDir), {
      sourceUri: info.uri,
      etag: info.etag,
      model: config.model,
      format: config.format,
      dimensions: config.dimensions,
    });
    if (reason === undefined) return undefined;
    return { bucket, key, etag: info.etag, size: info.bytes, outputDir, reason };
  };

  async function* scan(): AsyncGenerator<StaleObject> {
    const window: Promise<StaleObject | undefined>[] = [];
    const settle = async (): Promise<StaleObject | undefined> => {
      const found = await window.shift();
      if (found === undefined) counts.upToDate++;
      else counts.stale++;
      return found;
    };
    for await (const info of store.list(`s3://${bucket}/${config.inputPrefix}`)) {
      counts.listed++;
      const { key } = parseS3Uri(info.uri);
      const target = outputDirFor(bucket, key, config);
      if (target.skip !== undefined) {
        counts.ignored++;
        continue;
      }
      const pending = check(info, key, target.outputDir);
      // Awaited in order below; this only keeps a later read's failure from counting as unhandled meanwhile.
      pending.catch(() => undefined);
      window.push(pending);
      if (window.length >= concurrency) {
        const found = await settle();
        if (found !== undefined) yield found;
      }
    }
    while (window.length > 0) {
      const found = await settle();
      if (found !== undefined) yield found;
    }
  }

  return {
    counts,
    [Symbol.asyncIterator]: () => scan(),
  };
}
