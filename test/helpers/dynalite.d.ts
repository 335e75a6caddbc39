/** The part of dynalite (an in-memory DynamoDB-compatible server) the tests use. */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Ms a new table stays CREATING. @default 500 */
    readonly createTableMs?: number;
    /** Ms a deleted table stays DELETING. @default 500 */
    readonly deleteTableMs?: number;
    /** Ms an updated table stays UPDATING. @default 500 */
    readonly updateTableMs?: number;
  }

  export default function dynalite(options?: DynaliteOptions): Server;
}
