/**
 * Preloaded (`--import`) into every measured child process: when the process
 * exits, writes its own CPU time and peak RSS (all threads, as the kernel
 * counts them) to the file named by `BENCH_USAGE_FILE`.
 */
import { writeFileSync } from 'node:fs';
import type { ProcessUsage } from './types.ts';

const file = process.env.BENCH_USAGE_FILE;
if (file !== undefined && file !== '') {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    const report: ProcessUsage = {
      userSeconds: usage.userCPUTime / 1e6,
      systemSeconds: usage.systemCPUTime / 1e6,
      maxRssBytes: usage.maxRSS * 1024,
      uptimeSeconds: process.uptime(),
    };
    writeFileSync(file, JSON.stringify(report));
  });
}
