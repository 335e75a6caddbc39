/**
 * Turns the latest result of each section into the generated part of
 * BENCHMARKS.md: the figures as median (min–max) over runs, the ceilings,
 * same-run ratios, and each goal met or missed.
 */
import type { LatestResults } from '../types.ts';
import { type Goal, table, verdict } from './markdown.ts';
import { renderCpu } from './renderCpu.ts';
import { renderMemory } from './renderMemory.ts';
import { renderSize } from './renderSize.ts';
import { renderThroughput } from './renderThroughput.ts';

/** The generated part of BENCHMARKS.md, from the latest result of each section. */
export function renderReport(latest: LatestResults): string {
  const goals: Goal[] = [];
  const sections: string[] = [];
  if (latest.throughput) sections.push(renderThroughput(latest.throughput, goals));
  if (latest.cpu) sections.push(renderCpu(latest.cpu, goals));
  if (latest.memory) sections.push(renderMemory(latest.memory, goals));
  if (latest.size) sections.push(renderSize(latest.size));
  return [
    '## Goals',
    '',
    table(
      ['goal', 'figure (median (min–max))', 'verdict'],
      goals.map((g) => [g.goal, g.figure, verdict(g.met)]),
    ),
    '',
    ...sections.flatMap((section) => [section, '']),
  ].join('\n');
}
