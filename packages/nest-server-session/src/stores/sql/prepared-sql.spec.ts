import { describe, expect, it } from '@jest/globals';
import knex from 'knex';
import { prepareSql } from './prepared-sql.js';

interface Params {
  key: string;
  now: number;
}

const lookup = (client: string) => {
  const db = knex({ client, useNullAsDefault: true });
  return prepareSql((p: Params) =>
    db('sessions')
      .where('expires_at', '>', p.now)
      .where('sid', p.key)
      .first('sess'),
  );
};

describe('prepareSql', () => {
  it("writes the dialect's placeholders and quoting, once", () => {
    expect(lookup('pg').text).toBe(
      'select "sess" from "sessions" where "expires_at" > $1 and "sid" = $2 limit $3',
    );
    expect(lookup('mysql2').text).toBe(
      'select `sess` from `sessions` where `expires_at` > ? and `sid` = ? limit ?',
    );
  });

  it('puts the values in the order of the placeholders, keeping the constants', () => {
    expect(lookup('pg').values({ key: 'k', now: 5 })).toEqual([5, 'k', 1]);
  });

  it('names a statement by its text', () => {
    expect(lookup('pg').name).toBe(lookup('pg').name);
    expect(lookup('pg').name).not.toBe(lookup('mysql2').name);
    expect(lookup('pg').name).toMatch(/^s_[0-9a-f]{24}$/);
  });

  it('refuses a parameter that knex wrote into the text', () => {
    const db = knex({ client: 'pg' });
    expect(() =>
      prepareSql((p: Params) => db('sessions').whereRaw(p.key)),
    ).toThrow(/not bound/);
  });
});
