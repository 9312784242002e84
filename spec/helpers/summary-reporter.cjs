/**
 * Prints one plain closing line, "N passed, N failed" (and skipped, if any), after Jest's own
 * summary, so a reader or a CI log scanner sees the outcome in one place.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
    process.stderr.write(`\n${line}\n`);
  }
}

module.exports = SummaryReporter;
