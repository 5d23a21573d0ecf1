import { describe, expect, it } from '@jest/globals';
import { deviceLabel } from './device-label.js';
import { relativeTime } from './relative-time.js';

describe('deviceLabel', () => {
  it.each([
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      'Chrome 126 on Windows 10',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      'Safari 17 on iOS 17',
    ],
    [
      'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
      'Firefox 127 on Linux',
    ],
    ['curl/8.5.0', 'Unknown device'],
    [undefined, 'Unknown device'],
  ])('names %p as %p', (userAgent, label) => {
    expect(deviceLabel(userAgent)).toBe(label);
  });
});

describe('relativeTime', () => {
  const now = new Date('2026-11-30T12:00:00Z');
  it.each([
    ['2026-11-30T11:59:30Z', 'just now'],
    ['2026-11-30T11:55:00Z', '5 minutes ago'],
    ['2026-11-30T09:00:00Z', '3 hours ago'],
    ['2026-11-29T12:00:00Z', 'yesterday'],
    ['2026-11-16T12:00:00Z', '2 weeks ago'],
  ])('says %p is %p', (when, text) => {
    expect(relativeTime(new Date(when), now)).toBe(text);
  });
});
