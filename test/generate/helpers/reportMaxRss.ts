/**
 * Preloaded into a child `node` by the size test (`--import`): prints the process's peak
 * resident set size when it exits, so the test can hold the generator to bounded memory.
 */
process.on('exit', () => {
  process.stderr.write(`max-rss-kb=${process.resourceUsage().maxRSS}\n`);
});
