/**
 * The dashboard's small shared pieces: loading a resource (and loading it again when the change
 * stream says it changed), durations and ages as people read them, the status badge, an error
 * box that shows the server's code and fix, and the confirmation dialog every action goes through.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { onChange, type Change } from './live.js';

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  reload: () => void;
}

/** Loads with `fn`; again when `deps` change, and when a change the `when` predicate accepts arrives on the stream. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[], when?: (c: Change) => boolean): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const gen = useRef(0);
  const reload = useCallback(() => {
    const mine = ++gen.current;
    fn().then(
      (d) => mine === gen.current && (setData(d), setError(null)),
      (e: unknown) => mine === gen.current && setError(e),
    );
  }, deps);
  useEffect(() => {
    setData(null);
    reload();
  }, [reload]);
  useEffect(() => (when ? onChange((c) => when(c) && reload()) : undefined), [reload]);
  return { data, error, reload };
}

const UNITS: Array<[number, string]> = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1000, 's'],
];

/** 93d, 4h, 12min, 3s, 250 ms. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  for (const [size, unit] of UNITS) if (Math.abs(ms) >= size) return `${Math.floor(ms / size)}${unit}`;
  return `${Math.round(ms)} ms`;
}

export function when(t: string | number | null | undefined): string {
  if (t === null || t === undefined) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '—' : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

export function Badge({ status }: { status: string | null }): preact.JSX.Element {
  const s = status ?? 'none';
  const tone = /^(ok|done|delivered|active|current|approved|open|true)/.test(s)
    ? 'good'
    : /^(warning|pending|running|retrying|queued)/.test(s)
      ? 'warn'
      : /^(overdue|failing|failed|denied|revoked|expired|false)/.test(s)
        ? 'bad'
        : 'neutral';
  return <span class={`badge ${tone}`}>{s}</span>;
}

export function ErrorBox({ error }: { error: unknown }): preact.JSX.Element | null {
  if (error === null || error === undefined) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div class="error" role="alert">
      <strong>{e ? `${e.code} (${e.status})` : 'Error'}</strong>: {error instanceof Error ? error.message : String(error)}
      {e?.fix ? <div class="fix">{e.fix}</div> : null}
    </div>
  );
}

/** A button that asks first (a modal dialog: Escape or Cancel backs out), then runs `action` and shows its outcome. */
export function ConfirmButton(props: { label: string; question: string; action: () => Promise<unknown>; onDone?: (result: unknown) => void; danger?: boolean }): preact.JSX.Element {
  const dialog = useRef<HTMLDialogElement>(null);
  const question = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const go = async (): Promise<void> => {
    dialog.current?.close();
    setBusy(true);
    setError(null);
    try {
      props.onDone?.(await props.action());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="confirm">
      <button type="button" class={props.danger ? 'danger' : 'primary'} disabled={busy} onClick={() => dialog.current?.showModal()}>
        {busy ? `${props.label}…` : props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={question}>
        <p id={question}>{props.question}</p>
        <div class="actions">
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" class={props.danger ? 'danger' : 'primary'} onClick={() => void go()}>
            {props.label}
          </button>
        </div>
      </dialog>
      <ErrorBox error={error} />
    </span>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }): preact.JSX.Element {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A table's header row: one column header per name. */
export function Head({ cols }: { cols: string[] }): preact.JSX.Element {
  return (
    <thead>
      <tr>
        {cols.map((c) => (
          <th scope="col">{c}</th>
        ))}
      </tr>
    </thead>
  );
}

/** The row a table shows when it has none (once loaded). */
export function Empty({ cols, text }: { cols: number; text: string }): preact.JSX.Element {
  return (
    <tr>
      <td colSpan={cols} class="muted">
        {text}
      </td>
    </tr>
  );
}
