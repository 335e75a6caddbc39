/** What a measured child process reports about itself when it exits. */
export interface ProcessUsage {
  readonly userSeconds: number;
  readonly systemSeconds: number;
  /** Peak resident set size (getrusage maxrss). */
  readonly maxRssBytes: number;
  /** Seconds from process start to exit. */
  readonly uptimeSeconds: number;
}
