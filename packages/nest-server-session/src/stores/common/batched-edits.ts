/** A change of one item: the new value, or null when there is nothing to change. */
export type Edit<T> = (value: T) => T | null;

interface Batch<T> {
  edits: Edit<T>[];
  done: Promise<void>;
}

/**
 * Edits of one shared item (a user's index of sessions), each a pure function of the item,
 * applied one batch at a time per key: the edits that arrive while a batch is being written
 * gather into the next, which applies them all in one read and one write. Ten logins of one
 * user at once then cost this process two rounds on the item rather than ten that collide
 * and retry. Other processes can still change the item between a batch's read and its write:
 * `apply` keeps its own check for that (a compare-and-set), redoing the batch's edit.
 *
 * Each edit's promise settles with its batch: a batch that fails fails every edit in it.
 */
export class BatchedEdits<T> {
  /** Per key, the batch that still takes edits (the one waiting for the batch ahead). */
  private readonly gathering = new Map<string, Batch<T>>();
  /** Per key, the last batch started or queued; gone once it settles. */
  private readonly last = new Map<string, Promise<void>>();

  constructor(
    private readonly apply: (key: string, edit: Edit<T>) => Promise<void>,
  ) {}

  edit(key: string, edit: Edit<T>): Promise<void> {
    const open = this.gathering.get(key);
    if (open) {
      open.edits.push(edit);
      return open.done;
    }
    const batch: Batch<T> = { edits: [edit], done: Promise.resolve() };
    const start = () => {
      this.gathering.delete(key);
      return this.apply(key, together(batch.edits));
    };
    const ahead = this.last.get(key);
    if (ahead) {
      this.gathering.set(key, batch);
      // The batch ahead has settled either way: its failure is its own edits'.
      batch.done = ahead.then(start, start);
    } else batch.done = start();
    const settled = batch.done.then(
      () => undefined,
      () => undefined,
    );
    this.last.set(key, settled);
    void settled.then(() => {
      if (this.last.get(key) === settled) this.last.delete(key);
    });
    return batch.done;
  }
}

/** One edit doing each of `edits` in turn; null when none of them changes anything. */
function together<T>(edits: readonly Edit<T>[]): Edit<T> {
  if (edits.length === 1) return edits[0];
  return (value) => {
    let changed = false;
    for (const edit of edits) {
      const next = edit(value);
      if (next !== null) {
        value = next;
        changed = true;
      }
    }
    return changed ? value : null;
  };
}
