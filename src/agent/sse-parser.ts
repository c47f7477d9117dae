/**
 * An incremental Server-Sent Events parser (the WHATWG event-stream rules): text is fed in
 * chunks as it arrives; lines end with LF, CRLF or CR; an event is dispatched at a blank line
 * when it has data; an `id:` line sets the last event id even on a message without data (the
 * change stream's heartbeats move the resume point that way); `:` lines are comments.
 *
 * @example
 * ```ts
 * const p = new SseParser((e) => console.log(e.event, e.data));
 * p.feed('id: 4\nevent: version\ndata: {"path":"app/db"}\n\n');
 * p.lastEventId; // '4'
 * ```
 */
export interface SseMessage {
  readonly id: string;
  readonly event: string;
  readonly data: string;
}

export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #type = '';
  #idBuffer: string;
  #lastId: string;
  #pendingCr = false;
  readonly #dispatch: (m: SseMessage) => void;
  /** Comment lines seen (heartbeats), for liveness. */
  comments = 0;

  constructor(dispatch: (m: SseMessage) => void, lastEventId = '') {
    this.#dispatch = dispatch;
    this.#idBuffer = lastEventId;
    this.#lastId = lastEventId;
  }

  /** The id to send back as Last-Event-ID. */
  get lastEventId(): string {
    return this.#lastId;
  }

  feed(text: string): void {
    let t = text;
    if (this.#pendingCr && t.startsWith('\n')) t = t.slice(1);
    this.#pendingCr = false;
    this.#buffer += t;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.#buffer);
      if (m === null) return;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (m[0] === '\r' && m.index === this.#buffer.length - 1) this.#pendingCr = true;
      const line = this.#buffer.slice(0, m.index);
      this.#buffer = this.#buffer.slice(m.index + m[0].length);
      this.#line(line);
    }
  }

  #line(l: string): void {
    if (l === '') {
      this.#lastId = this.#idBuffer;
      if (this.#data.length > 0) this.#dispatch({ id: this.#lastId, event: this.#type === '' ? 'message' : this.#type, data: this.#data.join('\n') });
      this.#data = [];
      this.#type = '';
      return;
    }
    if (l.startsWith(':')) {
      this.comments += 1;
      return;
    }
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#type = value;
    else if (field === 'id' && !value.includes('\0')) this.#idBuffer = value;
  }
}
