/**
 * What `plan` leaves for the next `run` of the same input and output: its
 * estimate, bound to everything that decides the figures, so a run made
 * under other conditions never carries a stale one into usage.json.
 *
 * It lives at `<output folder>/_scratch/plan.json`: beside the run's own
 * uncommitted state, invisible to `part-*` readers, kept when a run discards
 * a stale checkpoint (so an interrupted run still finds it when it resumes),
 * and removed by the commit that used it.
 */
import type { JobOptions } from '../pipelineTypes.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import type { SourceInfo } from '../types.ts';
import { bindingOf, type CheckpointBinding } from '../write/Checkpoint.ts';
import type { Manifest } from '../write/Manifest.ts';
import { PLAN_FILE } from '../write/OutputFolder.ts';
import { scratchUri } from '../write/OutputLayout.ts';
import type { UsageEstimate } from '../write/UsageReport.ts';

export type { UsageEstimate } from '../write/UsageReport.ts';

/** Everything the figures depend on; a run whose binding differs does not use the plan. */
export interface PlanBinding {
  /** Source version, model, dimensions, columns, format, delimiter and encoding. */
  readonly job: CheckpointBinding;
  readonly batch: { readonly size: number; readonly max_tokens: number; readonly max_bytes: number };
  readonly max_record_bytes: number;
  readonly require_id_column: boolean;
  readonly full: boolean;
  /** `created_at` of the complete output the run would reuse (null: none), so a plan made before a commit is stale after it. */
  readonly previous_output: string | null;
}

/** `_scratch/plan.json`. */
export interface StoredPlan {
  readonly version: 1;
  readonly binding: PlanBinding;
  readonly estimate: UsageEstimate;
}

/** URI of the stored plan of an output folder. */
export function planUri(dir: string): string {
  return scratchUri(dir, PLAN_FILE);
}

/** The binding of a plan or run of `source` into a folder whose current manifest is `previous`. */
export function planBindingOf(
  source: SourceInfo,
  model: string,
  options: JobOptions,
  previous: Manifest | undefined,
): PlanBinding {
  return {
    job: bindingOf(source, model, options),
    batch: { size: options.batchSize, max_tokens: options.maxBatchTokens, max_bytes: options.maxBatchBytes },
    max_record_bytes: options.maxRecordBytes,
    require_id_column: options.requireIdColumn ?? false,
    full: options.full,
    previous_output: previous?.created_at ?? null,
  };
}

/** Writes the plan for the next run (one atomic put). */
export async function writePlan(store: ObjectStore, dir: string, plan: StoredPlan): Promise<void> {
  await store.put(planUri(dir), `${JSON.stringify(plan, null, 2)}\n`);
}

/** What a run says of a plan made for another job. */
export const STALE_PLAN =
  'the stored plan was made for another version of the file, other settings or another earlier output: usage.json carries no estimate (run plan again)';

/** What a run found of a plan. */
export type PlanLookup =
  | { readonly found: 'none' }
  | { readonly found: 'current'; readonly estimate: UsageEstimate }
  | { readonly found: 'stale' };

/**
 * The estimate stored for a run with `binding`: `current` when the plan was
 * made for exactly this source version, settings and earlier output; `stale`
 * when there is a plan, but for something else; `none` when there is none
 * (or it is not readable as one: a plan is a bonus, never a reason to fail).
 */
export async function findPlan(store: ObjectStore, dir: string, binding: PlanBinding): Promise<PlanLookup> {
  let text: string | undefined;
  try {
    text = await store.getText(planUri(dir));
  } catch {
    return { found: 'none' };
  }
  if (text === undefined) return { found: 'none' };
  try {
    const plan = JSON.parse(text) as Partial<StoredPlan>;
    if (plan.version !== 1 || plan.estimate === undefined || plan.binding === undefined)
      return { found: 'none' };
    return JSON.stringify(plan.binding) === JSON.stringify(binding)
      ? { found: 'current', estimate: plan.estimate }
      : { found: 'stale' };
  } catch {
    return { found: 'none' };
  }
}
