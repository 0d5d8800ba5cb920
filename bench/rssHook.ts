/**
 * Loaded into the measured `analyze` child with `node --import`: when the child exits it
 * reports its own peak resident set size on stderr, so the bench needs no /usr/bin/time.
 */
process.on('exit', () => {
  process.stderr.write(`\nbench-max-rss-kib=${process.resourceUsage().maxRSS}\n`);
});
