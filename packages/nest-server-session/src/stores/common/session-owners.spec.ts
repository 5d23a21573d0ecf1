import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import type { UserSessionIndex } from '../store.contract.js';
import { MAX_REMEMBERED, SessionOwners } from './session-owners.js';

/** An index that records what it is told to forget. */
function recordingIndex() {
  const removed: Array<[string, string[]]> = [];
  const index: UserSessionIndex = {
    add: async () => undefined,
    remove: async (userId, sids) => void removed.push([userId, sids]),
    list: async () => [],
  };
  return { index, removed };
}

const sessionOf = (username: string) =>
  ({ username }) as unknown as SessionData;

describe('SessionOwners', () => {
  it('tells a destroy by id whose index entry to remove, for a session it read', async () => {
    const { index, removed } = recordingIndex();
    const owners = new SessionOwners(index, {
      userIdKey: 'username',
      trackIp: false,
      absoluteLifetime: 0,
    });
    owners.known('s1', sessionOf('ann'));
    await owners.afterDestroy('s1');
    expect(removed).toEqual([['ann', ['s1']]]);
    // Forgotten with it: a second destroy has nobody to tell.
    await owners.afterDestroy('s1');
    expect(removed).toHaveLength(1);
  });

  it(`remembers the ${MAX_REMEMBERED.toLocaleString('en-US')} sessions read last, dropping the least recently read`, async () => {
    const { index, removed } = recordingIndex();
    const owners = new SessionOwners(index, {
      userIdKey: 'username',
      trackIp: false,
      absoluteLifetime: 0,
    });
    for (let i = 0; i < MAX_REMEMBERED; i++)
      owners.known(`s${i}`, sessionOf(`user${i}`));
    // s0 read again: now the most recent; s1 is the least recently read.
    owners.known('s0', sessionOf('user0'));
    owners.known('new', sessionOf('newcomer'));

    for (const sid of ['s0', 's1', `s${MAX_REMEMBERED - 1}`, 'new'])
      await owners.afterDestroy(sid);
    expect(removed).toEqual([
      ['user0', ['s0']],
      [`user${MAX_REMEMBERED - 1}`, [`s${MAX_REMEMBERED - 1}`]],
      ['newcomer', ['new']],
    ]);
  });
});
