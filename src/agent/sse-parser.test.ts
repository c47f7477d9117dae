import { describe, expect, it } from 'vitest';
import { SseParser, type SseMessage } from './sse-parser.js';

describe('SseParser', () => {
  it('dispatches at a blank line, across chunks and line endings; an id without data moves the last id only', () => {
    const got: SseMessage[] = [];
    const p = new SseParser((m) => got.push(m), '3');
    expect(p.lastEventId).toBe('3');
    p.feed('retry: 1000\n\nid: 4\nevent: ver');
    p.feed('sion\ndata: {"path":"a"}\r');
    p.feed('\n\r\n: heartbeat\nid: 9\n\n');
    p.feed('data: x\rdata: y\r\r');
    expect(got).toEqual([
      { id: '4', event: 'version', data: '{"path":"a"}' },
      { id: '9', event: 'message', data: 'x\ny' },
    ]);
    expect(p.lastEventId).toBe('9');
    expect(p.comments).toBe(1);
  });
});
