import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { MachineInfo } from './types.ts';

function cpuModel(): string {
  try {
    const lscpu = execFileSync('lscpu', { encoding: 'utf8' });
    const model = /^Model name:\s*(.+)$/m.exec(lscpu)?.[1]?.trim();
    const hypervisor = /^Hypervisor vendor:\s*(.+)$/m.exec(lscpu)?.[1]?.trim();
    if (model !== undefined) return hypervisor === undefined ? model : `${model} (${hypervisor} guest)`;
  } catch {
    // No lscpu (macOS, minimal images): Node's view below.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** The machine the figures were taken on. */
export function machineInfo(): MachineInfo {
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg(),
  };
}
