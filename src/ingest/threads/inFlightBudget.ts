/**
 * A reading thread's bound on what it has posted and the replaying thread has not yet taken
 * (skimWorker.ts, msgpackWorker.ts): a message counts the bytes of the buffers it transfers,
 * in when posted and out when the replaying thread says it took them (`transferredBytes` of
 * the same buffers); `posted` resolves once the bytes still in flight are below the budget
 * again (at once if they are), so a message larger than the budget still goes.
 */
export class InFlightBudget {
  private bytes = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly budget: number) {}

  get inFlight(): number {
    return this.bytes;
  }

  async posted(bytes: number): Promise<void> {
    this.bytes += bytes;
    while (this.bytes >= this.budget) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /**
   * Posts `message` with `transfer` moved to the other thread, then waits as `posted` does.
   * The bytes are counted before the transfer, which empties every view of them on this side:
   * counted after it, every message weighed nothing and the bound held nothing back.
   */
  async postTransferring(port: { postMessage(message: unknown, transfer: readonly ArrayBuffer[]): void }, message: unknown, transfer: readonly ArrayBuffer[]): Promise<void> {
    const bytes = transferredBytes(transfer);
    port.postMessage(message, transfer);
    await this.posted(bytes);
  }

  taken(bytes: number): void {
    this.bytes -= bytes;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** What a message's transferred buffers weigh against the budget (whole buffers: what they hold in memory). */
export function transferredBytes(transfer: readonly ArrayBuffer[]): number {
  let bytes = 0;
  for (const buffer of transfer) bytes += buffer.byteLength;
  return bytes;
}
