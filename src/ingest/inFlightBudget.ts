/**
 * A reading thread's bound on what it has posted and the replaying thread has not yet taken
 * (skimWorker.ts, msgpackWorker.ts): batches are counted in when posted and out when the
 * replaying thread says it took them; `posted` resolves once the bytes still in flight are
 * below the budget again (at once if they are), so a batch larger than the budget still goes.
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

  taken(bytes: number): void {
    this.bytes -= bytes;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
