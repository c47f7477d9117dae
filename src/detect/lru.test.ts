import { describe, expect, it } from 'vitest';
import { BoundedMap } from './lru.js';

describe('BoundedMap', () => {
  it('keeps at most max keys and forgets the least recently used', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    expect(m.get('a')).toBe(1);
    m.set('c', 3);
    expect([...m.keys()]).toEqual(['a', 'c']);
    expect(m.get('b')).toBeUndefined();
    expect([...m.values()]).toEqual([1, 3]);
  });

  it('never holds more than max, and a key used within the last max/2 operations survives any insertion (seed 7)', () => {
    const max = 100;
    const m = new BoundedMap<number, number>(max);
    let x = 7;
    const rand = (): number => ((x = (x * 1103515245 + 12345) % 2147483648), x / 2147483648);
    const hot = [1, 2, 3];
    for (let i = 0; i < 20_000; i++) {
      if (i % 10 === 0) for (const h of hot) m.getOrCreate(h, () => h);
      m.set(1000 + Math.floor(rand() * 5000), i);
      expect(m.size).toBeLessThanOrEqual(max);
    }
    for (const h of hot) expect(m.get(h)).toBe(h);
  });

  it('getOrCreate makes a value once', () => {
    const m = new BoundedMap<string, { n: number }>(4);
    const a = m.getOrCreate('k', () => ({ n: 1 }));
    expect(m.getOrCreate('k', () => ({ n: 2 }))).toBe(a);
    expect(m.delete('k')).toBe(true);
    expect(m.size).toBe(0);
  });
});
