import { createS3Client } from '../store/createS3Client.ts';
import { LocalStore } from '../store/LocalStore.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { RoutingStore } from '../store/RoutingStore.ts';
import { S3Store } from '../store/S3Store.ts';

/** Local paths and `s3://` URIs through one store; S3 settings come from the SDK's standard environment. */
export function createStore(env: NodeJS.ProcessEnv = process.env): ObjectStore {
  return new RoutingStore({ local: new LocalStore(), s3: () => new S3Store(createS3Client(env)) });
}
