/** Markdown pieces and goal verdicts shared by the report's sections. */
import { formatNumber, formatSpread, type Spread } from '../stats.ts';
import type { MachineInfo, SectionRecord } from '../types.ts';

export const MIB = 2 ** 20;

/** One goal of the issue, with the figure that decides it. */
export interface Goal {
  readonly goal: string;
  readonly figure: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
}

export function verdict(met: boolean | undefined): string {
  if (met === undefined) return 'not measured';
  return met ? '**met**' : '**missed**';
}

/** A Markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A spread of fractions as percentages. */
export function percent(spread: Spread): string {
  return formatSpread(
    { ...spread, median: spread.median * 100, min: spread.min * 100, max: spread.max * 100 },
    0,
    ' %',
  );
}

/** A spread times `factor`. */
export function scaled(spread: Spread, factor: number): Spread {
  return { ...spread, median: spread.median * factor, min: spread.min * factor, max: spread.max * factor };
}

/** The line that says where and when a section's figures were taken. */
export function taken(record: SectionRecord<unknown>): string {
  return `Taken ${record.date.slice(0, 16).replace('T', ' ')} UTC on ${machineLine(record.machine)}, tree: ${record.label}, ${record.runs} run(s) per figure, \`${record.command}\`.`;
}

function machineLine(machine: MachineInfo): string {
  return `${machine.cpu}, ${machine.cores} cores, ${formatNumber(machine.memoryBytes / 2 ** 30, 0)} GiB RAM, Node ${machine.node}, load average ${machine.loadAverage.map((l) => l.toFixed(1)).join(' ')} at the start`;
}
