/**
 * One rate budget shared by every process that names the same DynamoDB table:
 * job invocations, shard workers and command-line runs.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { PermitLease, PermitRequest, PermitSource } from '../embed/PermitSource.ts';
import { FIXED_RATE_PACE } from '../embed/RateLimiter.ts';
import { ConfigError, RateBudgetError } from '../errors.ts';
import { ensureRateTable } from './ensureRateTable.ts';
import { type BudgetRate, type BudgetState, EMPTY_BUDGET, reserveSlots } from './reserveSlots.ts';

/** Options of {@link DynamoRateBudget}. */
export interface DynamoRateBudgetOptions {
  /** The client (region, credentials and endpoint from the SDK's standard settings). */
  readonly client: DynamoDBClient;
  /** The table (partition key `pk`, a string). */
  readonly table: string;
  /** Sustained requests per second of the whole budget. */
  readonly rps: number;
  /** Requests that may go at once after an idle spell. @default 1 (evenly paced) */
  readonly burst?: number;
  /** Tokens per minute of the whole budget. @default none */
  readonly tpm?: number;
  /**
   * The item holding this budget. Other items of the table (say, output-folder
   * leases) use other keys. @default 'rate-budget#default'
   */
  readonly key?: string;
  /**
   * The budget time one lease asks for while others draw too. A process
   * drawing alone (its writes never lose) doubles it, lease by lease, up to
   * {@link LONE_LEASE_FACTOR} times, so it makes fewer calls. @default 200
   */
  readonly leaseMs?: number;
  /** Creates the table (on demand) when it does not exist yet. @default false */
  readonly createTable?: boolean;
  /** Epoch clock in ms, the same in every process. @default Date.now */
  readonly now?: () => number;
}

/**
 * Attempts the DynamoDB client makes of each call (its standard retry mode,
 * exponential backoff with jitter): a few seconds of retries at most before a lease fails.
 * The edges build the client with it; the SDK's retries are the one retry layer here.
 */
export const RATE_BUDGET_MAX_ATTEMPTS = 6;

/** The default `key`. */
export const DEFAULT_BUDGET_KEY = 'rate-budget#default';
/** The default `leaseMs`: a fifth of a second of the budget per lease. */
export const DEFAULT_LEASE_MS = 200;
/** How many times `leaseMs` a process drawing alone leases at once (a second, by default). */
export const LONE_LEASE_FACTOR = 5;
/**
 * Conditional writes lost to other processes in a row before giving up. Each
 * loss means another process just got its lease, so this many in a row is a
 * stampede far beyond the few dozen workers the budget is meant for.
 */
const MAX_CONFLICTS = 50;
/** Late permits stay usable this long at least: timers and busy event loops run a little late. */
const MIN_GRACE_MS = 100;

/**
 * The `rateBudget` option of `createEmbedder` for a table, or undefined
 * without one: each embedder built draws on the budget in `table` with the
 * rate it resolved (`burst` as given here when set).
 */
export function rateBudgetOn(
  table: string | undefined,
  client: () => DynamoDBClient,
  extra: Pick<DynamoRateBudgetOptions, 'burst' | 'createTable'> = {},
): ((rate: { rps: number; burst?: number; tpm?: number }) => DynamoRateBudget) | undefined {
  if (table === undefined) return undefined;
  return (rate) =>
    new DynamoRateBudget({
      client: client(),
      table,
      ...rate,
      burst: extra.burst ?? rate.burst,
      createTable: extra.createTable,
    });
}

function checkPositive(name: string, value: number | undefined, integer: boolean): void {
  if (value === undefined) return;
  if (!(Number.isFinite(value) && value > 0) || (integer && !Number.isInteger(value))) {
    throw new ConfigError(
      `Expected \`${name}\` to be a positive ${integer ? 'integer' : 'number'}, got ${value}`,
    );
  }
}

function numberOf(item: Record<string, AttributeValue> | undefined, name: string): number {
  const raw = item?.[name]?.N;
  const value = raw === undefined ? 0 : Number(raw);
  return Number.isFinite(value) ? value : 0;
}

function stateOf(item: Record<string, AttributeValue> | undefined): BudgetState {
  if (item === undefined) return EMPTY_BUDGET;
  return {
    version: numberOf(item, 'version'),
    requestsFullAt: numberOf(item, 'requestsFullAt'),
    tokensFullAt: numberOf(item, 'tokensFullAt'),
  };
}

/**
 * Implements {@link PermitSource} over one item of a DynamoDB table.
 *
 * A lease reserves send times for up to {@link leaseRequests} requests in
 * one `UpdateItem`:
 *
 * - while the budget is booked ahead (its next free slot in the future, the
 *   busy case), the reservation is an atomic `ADD` of whole intervals,
 *   conditional on still being booked ahead: one call, no write lost;
 * - otherwise (an idle budget, or a tokens/minute budget) it is a
 *   read-modify-write: {@link reserveSlots} over the state last seen, written
 *   conditionally on its version; when another process wrote first, the state
 *   is read again (DynamoDB sends it with the failure) and the reservation redone.
 *
 * The rate is paced at {@link FIXED_RATE_PACE} of `rps`, as the local
 * limiter's is. Times are epoch ms from each process's clock, so the hosts'
 * clocks must agree to within a few ms (NTP does; Lambda's do). DynamoDB
 * errors (after the SDK's own retries) reject the lease with a
 * {@link RateBudgetError}; nothing is granted without a write.
 */
export class DynamoRateBudget implements PermitSource {
  readonly rps: number;
  readonly burst: number;
  readonly tpm: number | undefined;
  readonly table: string;
  readonly key: string;
  /** DynamoDB calls made so far (reads and writes; for tests and benchmarks). */
  calls = 0;

  readonly #client: DynamoDBClient;
  readonly #rate: BudgetRate;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #createTable: boolean;
  /** Requests of one lease while others draw too. */
  readonly #baseLease: number;
  /** Times {@link #baseLease} the next lease asks for: grows while this process draws alone. */
  #scale = 1;
  /** Where this process's last lease ended (its `requestsFullAt`). */
  #lastEnd: number | undefined;
  #ready: Promise<void> | undefined;
  /** The state this process last wrote or read; undefined: read it first. */
  #state: BudgetState | undefined;

  constructor(options: DynamoRateBudgetOptions) {
    checkPositive('rps', options.rps, false);
    checkPositive('burst', options.burst, true);
    checkPositive('tpm', options.tpm, false);
    checkPositive('leaseMs', options.leaseMs, false);
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(options.table ?? '')) {
      throw new ConfigError(
        `Expected \`--rate-table\` to be a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -), got ${JSON.stringify(options.table)}`,
      );
    }
    this.#client = options.client;
    this.table = options.table;
    this.key = options.key ?? DEFAULT_BUDGET_KEY;
    this.rps = options.rps;
    this.burst = options.burst ?? 1;
    this.tpm = options.tpm;
    const paced = this.rps * FIXED_RATE_PACE;
    // Tokens are not paced: the local limiter does not pace them either (estimates are corrected instead).
    this.#rate = { rps: paced, burst: this.burst, tpm: this.tpm };
    this.#intervalMs = 1000 / paced;
    this.#baseLease = Math.max(1, Math.round(((options.leaseMs ?? DEFAULT_LEASE_MS) * paced) / 1000));
    this.#now = options.now ?? Date.now;
    this.#createTable = options.createTable ?? false;
  }

  /** Most requests the next lease asks for. */
  get leaseRequests(): number {
    return this.#baseLease * this.#scale;
  }

  /** The budget time the next lease spans, in ms. */
  get leaseMs(): number {
    return this.leaseRequests * this.#intervalMs;
  }

  async lease(request: PermitRequest): Promise<PermitLease> {
    const requests = Math.max(1, Math.min(Math.floor(request.requests), this.leaseRequests));
    if (this.#createTable) {
      this.#ready ??= this.#guard('could not be created', () =>
        ensureRateTable(this.#client, this.table),
      ).catch((error: unknown) => {
        // The next lease (a retry) tries again.
        this.#ready = undefined;
        throw error;
      });
      await this.#ready;
    }
    for (let conflicts = 0; ; conflicts++) {
      // A budget booked ahead (the busy case) takes an atomic ADD: one call, no lost writes.
      if (
        this.tpm === undefined &&
        (this.#state?.requestsFullAt ?? Number.POSITIVE_INFINITY) >= this.#bookedFrom()
      ) {
        const appended = await this.#append(requests);
        if (appended !== undefined) return appended;
      }
      const state = this.#state ?? (await this.#read());
      const reservation = reserveSlots(state, this.#rate, requests, request.tokens, this.#now());
      const outcome = await this.#write(state, reservation.state);
      if (outcome === true) {
        this.#state = reservation.state;
        this.#lastEnd = reservation.state.requestsFullAt;
        // Won at the first try: nobody else wrote since this process did, so it draws alone.
        this.#scale = conflicts === 0 ? Math.min(LONE_LEASE_FACTOR, this.#scale * 2) : 1;
        const at = this.#now();
        return {
          delaysMs: reservation.slots.map((slot) => slot - at),
          graceMs: Math.max(this.#intervalMs, MIN_GRACE_MS),
        };
      }
      // The winner's state when DynamoDB sent it, else read it again.
      this.#state = outcome;
      this.#scale = 1;
      if (conflicts >= MAX_CONFLICTS) {
        throw new RateBudgetError(
          `rate budget table ${this.table}: ${MAX_CONFLICTS} writes in a row lost to other processes; no request was sent without a permit`,
          this.table,
        );
      }
    }
  }

  /** The earliest `requestsFullAt` at which the next slot lies wholly in the booked future. */
  #bookedFrom(): number {
    return this.#now() + (this.burst - 1) * this.#intervalMs;
  }

  /**
   * Appends `requests` slots to a budget booked ahead: while its next free
   * slot lies in the future, GCRA's reservation is a plain addition of
   * `requests` intervals, which DynamoDB does atomically, so concurrent
   * processes never lose a write. Undefined when the budget was not booked
   * ahead (idle, or no item yet): the caller reserves by read-modify-write.
   */
  async #append(requests: number): Promise<PermitLease | undefined> {
    const span = requests * this.#intervalMs;
    try {
      const { Attributes } = await this.#guard('could not be written', () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { pk: { S: this.key } },
            UpdateExpression: 'ADD requestsFullAt :span, version :one SET rps = :rps',
            ConditionExpression: 'requestsFullAt >= :booked',
            ExpressionAttributeValues: {
              ':span': { N: String(span) },
              ':one': { N: '1' },
              ':rps': { N: String(this.rps) },
              ':booked': { N: String(this.#bookedFrom()) },
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      const state = stateOf(Attributes);
      const start = state.requestsFullAt - span;
      // Alone: this lease begins where this process's last one ended.
      const alone = this.#lastEnd !== undefined && Math.abs(start - this.#lastEnd) < 1e-3;
      this.#scale = alone ? Math.min(LONE_LEASE_FACTOR, this.#scale * 2) : 1;
      this.#state = state;
      this.#lastEnd = state.requestsFullAt;
      const first = start - (this.burst - 1) * this.#intervalMs;
      const at = this.#now();
      return {
        delaysMs: Array.from({ length: requests }, (_, i) => first + i * this.#intervalMs - at),
        graceMs: Math.max(this.#intervalMs, MIN_GRACE_MS),
      };
    } catch (error) {
      if (!(error instanceof RateBudgetError) || !isConditionFailure(error.cause)) throw error;
      const item = (error.cause as { Item?: Record<string, AttributeValue> }).Item;
      this.#state = item === undefined ? undefined : stateOf(item);
      return undefined;
    }
  }

  async #read(): Promise<BudgetState> {
    const { Item } = await this.#guard('could not be read', () =>
      this.#client.send(
        new GetItemCommand({ TableName: this.table, Key: { pk: { S: this.key } }, ConsistentRead: true }),
      ),
    );
    return stateOf(Item);
  }

  /**
   * Writes `next` if the item is still at `previous`. When another process
   * wrote first: its state when DynamoDB sent it back, else undefined.
   */
  async #write(previous: BudgetState, next: BudgetState): Promise<true | BudgetState | undefined> {
    const values: Record<string, AttributeValue> = {
      ':next': { N: String(next.version) },
      ':requests': { N: String(next.requestsFullAt) },
      ':tokens': { N: String(next.tokensFullAt) },
      ':rps': { N: String(this.rps) },
    };
    if (previous.version > 0) values[':previous'] = { N: String(previous.version) };
    try {
      await this.#guard('could not be written', () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { pk: { S: this.key } },
            // `rps` is there for people reading the table; the budget is what each process names.
            UpdateExpression:
              'SET version = :next, requestsFullAt = :requests, tokensFullAt = :tokens, rps = :rps',
            ConditionExpression: previous.version > 0 ? 'version = :previous' : 'attribute_not_exists(pk)',
            ExpressionAttributeValues: values,
            // Real DynamoDB sends the winner's item back with the failure, saving a read.
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return true;
    } catch (error) {
      if (!(error instanceof RateBudgetError) || !isConditionFailure(error.cause)) throw error;
      const item = (error.cause as { Item?: Record<string, AttributeValue> }).Item;
      return item === undefined ? undefined : stateOf(item);
    }
  }

  /** Runs one DynamoDB call, counting it and turning its failure into a {@link RateBudgetError}. */
  async #guard<T>(what: string, call: () => Promise<T>): Promise<T> {
    this.calls++;
    try {
      return await call();
    } catch (error) {
      if (error instanceof RateBudgetError) throw error;
      const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new RateBudgetError(
        `rate budget table ${this.table} ${what} (${cause}); no request was sent without a permit`,
        this.table,
        { cause: error },
      );
    }
  }
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
