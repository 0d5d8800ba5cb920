/**
 * A reader that pulls a byte source chunk by chunk (its iterator in hand, not a `for await`)
 * must end the source itself when it stops early, on an error or because its own consumer
 * stopped: otherwise the source never runs its `finally`, and a file stays open until the
 * collector closes it (Node warns, DEP0137, and will throw in a later version).
 */
export async function endSource(iterator: AsyncIterator<unknown>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // The reader is already ending, with its own error if it has one: that is the one to report.
  }
}
