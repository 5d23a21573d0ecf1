import { describe, expect, it } from '@jest/globals';
import { createSessionIdGenerator } from './session-id.js';

describe('createSessionIdGenerator', () => {
  it('makes 32-character base64url ids (192 random bits)', () => {
    const next = createSessionIdGenerator();
    for (let i = 0; i < 10; i++) expect(next()).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('never repeats an id across many pool refills', () => {
    const next = createSessionIdGenerator();
    const ids = new Set(Array.from({ length: 5000 }, () => next()));
    expect(ids.size).toBe(5000);
  });

  it('gives independent generators different ids', () => {
    expect(createSessionIdGenerator()()).not.toBe(createSessionIdGenerator()());
  });
});
