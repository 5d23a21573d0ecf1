import { describe, expect, it } from '@jest/globals';
import { MAX_USERNAME_LENGTH, parseLoginForm } from './login.form.js';

describe('parseLoginForm', () => {
  it('returns the user name', () => {
    expect(parseLoginForm({ username: 'ann' })).toEqual({ username: 'ann' });
  });

  it('trims surrounding space', () => {
    expect(parseLoginForm({ username: '  ann smith \t\n' })).toEqual({
      username: 'ann smith',
    });
  });

  it.each([
    ['no body', undefined],
    ['a null body', null],
    ['an empty form', {}],
    ['an empty name', { username: '' }],
    ['a blank name', { username: '   ' }],
  ])('asks for a user name given %s', (_label, body) => {
    expect(parseLoginForm(body)).toEqual({ error: 'Enter a user name.' });
  });

  it.each([
    ['repeated', { username: ['ann', 'bob'] }],
    ['nested', { username: { first: 'ann' } }],
    ['a number', { username: 42 }],
  ])('rejects a user name that is %s', (_label, body) => {
    expect(parseLoginForm(body)).toEqual({
      error: 'The user name must be a single text value.',
    });
  });

  it('accepts a name of the maximum length', () => {
    const username = 'a'.repeat(MAX_USERNAME_LENGTH);
    expect(parseLoginForm({ username })).toEqual({ username });
  });

  it('rejects a longer name', () => {
    expect(MAX_USERNAME_LENGTH).toBe(64);
    expect(
      parseLoginForm({ username: 'a'.repeat(MAX_USERNAME_LENGTH + 1) }),
    ).toEqual({
      error: 'The user name can be at most 64 characters.',
    });
  });

  it('counts characters, not UTF-16 units', () => {
    const username = '😀'.repeat(MAX_USERNAME_LENGTH);
    expect(parseLoginForm({ username })).toEqual({ username });
    expect(parseLoginForm({ username: username + '😀' })).toHaveProperty(
      'error',
    );
  });

  it('measures the length after trimming', () => {
    const username = 'a'.repeat(MAX_USERNAME_LENGTH);
    expect(parseLoginForm({ username: `   ${username}   ` })).toEqual({
      username,
    });
  });

  it('ignores other fields', () => {
    expect(
      parseLoginForm({ username: 'ann', password: 'x', _csrf: 'y' }),
    ).toEqual({ username: 'ann' });
  });
});
