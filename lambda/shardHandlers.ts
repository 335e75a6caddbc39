import type { Context } from 'aws-lambda';
import { containerRateBudget } from './aws/containerRateBudget.ts';
import {
  createShardHandlers,
  type FinaliseSummary,
  type ShardHandlers,
  type ShardOutcome,
} from './aws/createShardHandlers.ts';
import { loadConfig } from './aws/loadConfig.ts';
import { readSecret } from './aws/readSecret.ts';
import type { LargeFileRunInput } from './aws/startLargeFileRun.ts';
import type { FinaliseInput } from './shard/finaliseShards.ts';
import type { PlanSummary, ShardTask } from './shard/ShardPlan.ts';
import { createS3Client } from './store/createS3Client.ts';
import { S3Store } from './store/S3Store.ts';

let wired: ShardHandlers | undefined;

/** Wiring on first use, as in `handler.ts`: a bad setting fails the invocation, not the module load. */
function handlers(): ShardHandlers {
  if (wired === undefined) {
    const config = loadConfig(process.env);
    wired = createShardHandlers({
      config,
      store: new S3Store(createS3Client(process.env)),
      readSecret: (arn) => readSecret(arn),
      // RATE_TABLE (shard workers): the budget the job function draws on too.
      rateBudget: containerRateBudget(config),
    });
  }
  return wired;
}

/**
 * Large-file state machine, step 1 (Lambda handler `plan`): cuts the object
 * into byte-range shards at record boundaries and writes the shard list for
 * the Distributed Map.
 */
export async function plan(event: LargeFileRunInput, context: Context): Promise<PlanSummary> {
  return handlers().plan(event, context);
}

/** Step 2 (`shard`), one per Distributed Map item: embeds one shard into its part files. */
export async function shard(task: ShardTask, context: Context): Promise<ShardOutcome> {
  return handlers().shard(task, context);
}

/** Step 3 (`finalise`): merges errors and usage, writes manifest.json last, removes the scratch. */
export async function finalise(summary: FinaliseInput, context: Context): Promise<FinaliseSummary> {
  return handlers().finalise(summary, context);
}
