/** The option-value parsers: what each accepts, what it refuses and the message it refuses with. */
import { Command, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { intOption, numberOption, timeOption } from './options.js';

function refusal(parse: (v: string) => unknown, value: string): string {
  try {
    parse(value);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return (e as Error).message;
  }
  throw new Error(`${value} was accepted`);
}

describe('intOption', () => {
  const limit = intOption('--limit', { min: 1, max: 1000 });

  it('accepts whole numbers in range, as numbers', () => {
    expect(limit('1')).toBe(1);
    expect(limit('1000')).toBe(1000);
    expect(limit(' 42 ')).toBe(42);
  });

  it('refuses anything else, naming the option and the range', () => {
    for (const bad of ['abc', '', '0', '1001', '-1', '1.5', '1e3', '0x10', '12abc', 'Infinity']) {
      expect(refusal(limit, bad)).toBe('--limit takes a whole number from 1 to 1000.');
    }
  });

  it('without a maximum says so, and refuses numbers past safe integers', () => {
    const lines = intOption('--lines', { min: 0 });
    expect(lines('0')).toBe(0);
    expect(refusal(lines, 'x')).toBe('--lines takes a whole number, 0 or more.');
    expect(refusal(lines, '9007199254740993')).toBe('--lines takes a whole number, 0 or more.');
  });

  it('gives commander a number both from the line and as the default', async () => {
    const seen: unknown[] = [];
    const cmd = () =>
      new Command('t')
        .exitOverride()
        .configureOutput({ writeErr: () => undefined })
        .option('--limit <n>', 'how many', limit, 50)
        .action((opts: { limit: unknown }) => void seen.push(opts.limit));
    await cmd().parseAsync(['--limit', '7'], { from: 'user' });
    await cmd().parseAsync([], { from: 'user' });
    expect(seen).toEqual([7, 50]);
    expect(cmd().helpInformation()).toContain('(default: 50)');
    await expect(cmd().parseAsync(['--limit', 'abc'], { from: 'user' })).rejects.toMatchObject({
      code: 'commander.invalidArgument',
      message: "error: option '--limit <n>' argument 'abc' is invalid. --limit takes a whole number from 1 to 1000.",
    });
  });
});

describe('numberOption', () => {
  const hours = numberOption('--hours', { min: 0 });

  it('accepts decimal numbers with a fraction', () => {
    expect(hours('24')).toBe(24);
    expect(hours('0.5')).toBe(0.5);
  });

  it('refuses anything else', () => {
    for (const bad of ['abc', '', '-1', '.5', '1.', '1e3', 'NaN']) expect(refusal(hours, bad)).toBe('--hours takes a number, 0 or more.');
    expect(refusal(numberOption('--ratio', { min: 0, max: 1 }), '2')).toBe('--ratio takes a number from 0 to 1.');
  });
});

describe('timeOption', () => {
  it('reads an RFC 3339 time as milliseconds and refuses what is not a time', () => {
    const since = timeOption('--since');
    expect(since('2025-01-02T00:00:00Z')).toBe(Date.UTC(2025, 0, 2));
    expect(refusal(since, 'yesterday')).toBe('--since takes an RFC 3339 time such as 2025-01-02T00:00:00Z.');
  });
});
