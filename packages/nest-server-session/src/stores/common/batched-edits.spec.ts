import { describe, expect, it } from '@jest/globals';
import { BatchedEdits, type Edit } from './batched-edits.js';

/** An item per key behind a slow write, recording each write the batches make. */
function slowItems() {
  const items = new Map<string, string[]>();
  const writes: { key: string; value: string[] | null }[] = [];
  const pending: (() => void)[] = [];
  let failNext = false;
  const apply = async (key: string, edit: Edit<string[]>) => {
    const value = edit(items.get(key) ?? []);
    await new Promise<void>((resolve) => pending.push(resolve));
    if (failNext) {
      failNext = false;
      throw new Error('write failed');
    }
    writes.push({ key, value });
    if (value) items.set(key, value);
  };
  return {
    items,
    writes,
    batches: new BatchedEdits(apply),
    /** Lets every write under way finish. */
    finishWrites: async () => {
      while (pending.length > 0) {
        pending.splice(0).forEach((resolve) => resolve());
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    failNextWrite: () => (failNext = true),
  };
}

const adding =
  (name: string): Edit<string[]> =>
  (names) => [...names, name];

describe('BatchedEdits', () => {
  it('applies the edits that arrive during a write together, in one next write', async () => {
    const { batches, items, writes, finishWrites } = slowItems();
    const done = Promise.all(
      ['a', 'b', 'c', 'd'].map((name) => batches.edit('ann', adding(name))),
    );
    await finishWrites();
    await done;
    expect(writes).toEqual([
      { key: 'ann', value: ['a'] },
      { key: 'ann', value: ['a', 'b', 'c', 'd'] },
    ]);
    expect(items.get('ann')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('does not hold one key’s edits behind another’s', async () => {
    const { batches, writes, finishWrites } = slowItems();
    void batches.edit('ann', adding('a'));
    void batches.edit('bob', adding('b'));
    await new Promise((resolve) => setImmediate(resolve));
    await finishWrites();
    expect(writes.map((write) => write.key).toSorted()).toEqual(['ann', 'bob']);
  });

  it('writes nothing new for a batch of edits that change nothing', async () => {
    const { batches, writes, finishWrites } = slowItems();
    const first = batches.edit('ann', adding('a'));
    const none = [1, 2].map(() => batches.edit('ann', () => null));
    await finishWrites();
    await Promise.all([first, ...none]);
    expect(writes).toEqual([
      { key: 'ann', value: ['a'] },
      { key: 'ann', value: null },
    ]);
  });

  it('fails the edits of a failed write only, and goes on with the next batch', async () => {
    const { batches, items, finishWrites, failNextWrite } = slowItems();
    failNextWrite();
    const failed = batches.edit('ann', adding('a'));
    const next = [
      batches.edit('ann', adding('b')),
      batches.edit('ann', adding('c')),
    ];
    await finishWrites();
    await expect(failed).rejects.toThrow('write failed');
    await expect(Promise.all(next)).resolves.toBeDefined();
    expect(items.get('ann')).toEqual(['b', 'c']);
  });

  it('starts an edit at once when nothing of its key is under way', async () => {
    const { batches, writes, finishWrites } = slowItems();
    const first = batches.edit('ann', adding('a'));
    await finishWrites();
    await first;
    let applied = false;
    const second = batches.edit('ann', (names) => {
      applied = true;
      return [...names, 'b'];
    });
    // Read synchronously: no batch is ahead of it any more.
    expect(applied).toBe(true);
    await finishWrites();
    await second;
    expect(writes.at(-1)).toEqual({ key: 'ann', value: ['a', 'b'] });
  });
});
