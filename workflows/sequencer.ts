/**
 * Runs steps one at a time, in the order they were queued. The session workflow puts every
 * transcript and read-model write through it, so:
 *  - a message's place (seq) and time are taken when its write runs, and writes run in that
 *    order, so the transcript, the read models and the published events agree on one order;
 *  - no two local activities are in flight at once: live they may finish in either order,
 *    while replay resolves them in history order, which would reorder the commands after them.
 * Deterministic: plain promise chaining inside the workflow.
 */
export class Sequencer {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;

  run<T>(step: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.tail.then(step);
    this.tail = result.then(
      () => this.queued--,
      () => this.queued--,
    );
    return result;
  }

  get idle(): boolean {
    return this.queued === 0;
  }
}
