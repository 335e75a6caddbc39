import { LazyStore } from '../store/LazyStore.ts';
import { LocalStore } from '../store/LocalStore.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { RoutingStore } from '../store/RoutingStore.ts';

/**
 * Local paths and `s3://` URIs through one store; S3 settings come from the SDK's standard environment.
 * The S3 store and the AWS SDK are imported at the first `s3://` URI, so a local-only command never loads them.
 */
export function createStore(env: NodeJS.ProcessEnv = process.env): ObjectStore {
  const s3 = new LazyStore(async () => {
    const [{ S3Store }, { createS3Client }] = await Promise.all([
      import('../store/S3Store.ts'),
      import('../store/createS3Client.ts'),
    ]);
    return new S3Store(createS3Client(env));
  });
  return new RoutingStore({ local: new LocalStore(), s3 });
}
