import { describe, expect, it } from 'vitest';
import { csvField } from './csv.js';

describe('csvField', () => {
  it('quotes every field, doubles quotes, and defuses what a spreadsheet would run as a formula', () => {
    expect(csvField('prod/db')).toBe('"prod/db"');
    expect(csvField('say "hi", then\r\nbye')).toBe('"say ""hi"", then\r\nbye"');
    expect(csvField(null)).toBe('""');
    expect(csvField(-3)).toBe('"-3"');
    for (const f of ['=1+2', '+1', '-cmd', '@SUM(A1)', '\tx', '\rx']) expect(csvField(f)).toBe(`"'${f}"`);
    expect(csvField('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
  });
});
