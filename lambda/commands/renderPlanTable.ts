import path from 'node:path';
import type { TimeEstimate } from '../plan/estimateSeconds.ts';
import { isS3Uri } from '../store/uri.ts';
import type { CommandPlan } from './planCommand.ts';

/** 41200 -> `41,200`. */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 83.4 -> `1 min 23 s`; 0.42 -> `0.4 s`. */
export function duration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

function money(value: number | undefined): string {
  if (value === undefined) return '?';
  return value === 0 ? '0' : value < 0.01 ? value.toPrecision(2) : value.toFixed(2);
}

function time(estimate: TimeEstimate | undefined, offline: boolean): string {
  if (offline) return 'local';
  return estimate === undefined ? '' : duration(estimate.seconds);
}

/** A local path below `cwd` as a relative one (shorter in a table); anything else as it is. */
function shown(uri: string, cwd: string): string {
  if (isS3Uri(uri)) return uri;
  const relative = path.relative(cwd, uri);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : uri;
}

/** The human form of a plan: a table per file and in total, then what the figures assume. */
export function renderPlanTable(plan: CommandPlan, cwd: string): string[] {
  const header = [
    'file',
    'rows',
    'rejected',
    'duplicates',
    'reused',
    'to embed',
    'tokens',
    'requests',
    'time',
    'cost',
  ];
  const rows: string[][] = plan.files.map((f) =>
    f.counts === undefined
      ? [shown(f.source, cwd), 'fails', '', '', '', '', '', '', '', '']
      : [
          shown(f.source, cwd),
          count(f.counts.rows),
          count(f.counts.rejected),
          count(f.counts.duplicates),
          count(f.counts.reused),
          count(f.counts.toEmbed),
          count(f.counts.tokens),
          count(f.requests),
          time(f.time, plan.offline),
          money(f.cost),
        ],
  );
  const t = plan.total;
  if (plan.files.length > 1) {
    rows.push([
      `total (${plan.files.length} files)`,
      count(t.rows),
      count(t.rejected),
      count(t.duplicates),
      count(t.reused),
      count(t.toEmbed),
      count(t.tokens),
      count(t.requests),
      time(t.time, plan.offline),
      money(t.cost),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];

  const r = plan.rate;
  out.push(
    '',
    `${plan.offline ? `${plan.model} (the offline embedder)` : `${plan.model} at ${plan.endpoint}`}; up to ${count(plan.batch.size)} inputs, ${count(plan.batch.maxTokens)} estimated tokens and ${count(plan.batch.maxBytes)} bytes per request; ${plan.packing === 'per-file' ? 'each file its own requests (--files-at-once 1)' : 'requests packed across files'}.`,
  );
  if (plan.offline) {
    out.push('Time: the offline embedder runs on this machine (no endpoint, no rate to wait for).');
  } else if (t.time !== undefined && t.time.bound !== undefined) {
    const b = t.time.bounds;
    const parts = [
      r.rps === undefined
        ? 'requests/s: no fixed cap (the run adapts to 429s)'
        : `requests/s: ${r.rps}${r.burst !== undefined && r.burst > 1 ? ` (burst ${r.burst})` : ''} -> ${duration(b['requests/s'] ?? 0)}`,
      r.tpm === undefined
        ? 'tokens/min: none'
        : `tokens/min: ${count(r.tpm)} -> ${duration(b['tokens/min'] ?? 0)}`,
      `concurrency: ${r.concurrency} x ${r.latencyMs} ms per request (assumed, --latency-ms) -> ${duration(b.concurrency ?? 0)}`,
    ];
    out.push(`Time: about ${duration(t.time.seconds)}, bound by ${t.time.bound} (${parts.join('; ')}).`);
  }
  if (plan.offline) {
    out.push('Cost: nothing (the offline embedder runs in this process).');
  } else if (plan.price === undefined) {
    out.push(
      `Cost: unknown: no built-in price for ${plan.model} (see the README); give --price-per-million-tokens.`,
    );
  } else {
    out.push(
      `Cost: ${money(t.cost)} at ${plan.price.perMillionTokens} per million tokens (${plan.price.source}); tokens are estimated high (UTF-8 bytes / 3), so this is an upper bound.`,
    );
  }
  const saved = plan.files.filter((f) => f.saved !== undefined);
  if (saved.length === 1) out.push(`Estimate stored for the run in ${saved[0]?.saved}.`);
  else if (saved.length > 1)
    out.push(
      `Estimates stored for the run in each output folder's _scratch/plan.json (${saved.length} files).`,
    );
  return out;
}
