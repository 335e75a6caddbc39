// Loaded with `node --import` into a child process under test: prints the
// process's peak resident set size on stderr as it exits, so a test can bound
// memory without sampling. One line: `max-rss-kb=<n>`.
process.on('exit', () => {
  process.stderr.write(`max-rss-kb=${process.resourceUsage().maxRSS}\n`);
});
