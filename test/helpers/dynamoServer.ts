import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

/** A local DynamoDB-compatible server (dynalite, in-memory, in-process) and how to reach it. */
export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The SDK settings a child process needs to reach it (endpoint, region, dummy credentials). */
  readonly env: NodeJS.ProcessEnv;
  /** HTTP requests (DynamoDB calls) the server has received so far. */
  readonly calls: () => number;
  /** A client with those settings; `maxAttempts` 1 unless given (tests want failures at once). */
  newClient(maxAttempts?: number): DynamoDBClient;
  stop(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1 with a port the OS picks; tables turn ACTIVE after 50 ms. */
export async function startLocalDynamo(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 50, deleteTableMs: 50, updateTableMs: 50 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  let calls = 0;
  server.on('request', () => {
    calls++;
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('dynalite did not report a TCP port');
  const endpoint = `http://127.0.0.1:${address.port}`;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    calls: () => calls,
    newClient: (maxAttempts = 1) =>
      new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
