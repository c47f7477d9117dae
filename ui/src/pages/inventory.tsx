/**
 * The inventory: every secret the caller may list, with its type, target, age against the
 * policy's maximum, when it is overdue, status and last result; filtered by text and status,
 * sorted by any column. Only the rows in view are in the page (a window of ROW px rows over a
 * spacer of the full height), so 10,000 secrets scroll like 30. Reloaded when the change stream
 * reports a change (at most once a second), never on a timer.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { enc, get, type Inventory, type InventoryRow } from '../api.js';
import { Badge, duration, ErrorBox, useLoad, when } from '../ui.js';

const ROW = 34;
const OVERSCAN = 10;

type Key = 'path' | 'type' | 'target' | 'ageMs' | 'dueAt' | 'status' | 'lastResult';
const COLUMNS: Array<[Key, string]> = [
  ['path', 'Path'],
  ['type', 'Type'],
  ['target', 'Target'],
  ['ageMs', 'Age / max'],
  ['dueAt', 'Next due'],
  ['status', 'Status'],
  ['lastResult', 'Last result'],
];
const RANK: Record<string, number> = { overdue: 0, failing: 1, warning: 2, ok: 3 };

function compare(key: Key): (a: InventoryRow, b: InventoryRow) => number {
  if (key === 'ageMs') return (a, b) => a.ageMs - b.ageMs;
  if (key === 'status') return (a, b) => (RANK[a.status] ?? 9) - (RANK[b.status] ?? 9) || a.path.localeCompare(b.path);
  return (a, b) => (a[key] ?? '\uffff').localeCompare(b[key] ?? '\uffff');
}

/** Reloads at most once a second while changes stream in. */
function useThrottled(fn: () => void): () => void {
  const timer = useRef<number | null>(null);
  return () => {
    if (timer.current !== null) return;
    timer.current = window.setTimeout(() => {
      timer.current = null;
      fn();
    }, 1000);
  };
}

export function AgeBar({ row }: { row: InventoryRow }): preact.JSX.Element {
  const ratio = row.maxAgeMs ? row.ageMs / row.maxAgeMs : null;
  return (
    <span class="age" title={row.max}>
      {duration(row.ageMs)}
      {ratio !== null ? (
        <>
          {' / '}
          {duration(row.maxAgeMs)}
          <span class="bar" aria-hidden="true">
            <span class={ratio >= 1 ? 'fill bad' : ratio >= 0.8 ? 'fill warn' : 'fill'} style={{ width: `${Math.min(100, Math.round(ratio * 100))}%` }} />
          </span>
        </>
      ) : (
        <span class="muted"> ({row.max})</span>
      )}
    </span>
  );
}

export function InventoryPage(): preact.JSX.Element {
  const reloadLater = useRef<() => void>(() => undefined);
  const inv = useLoad(
    () => get<Inventory>('/v1/inventory'),
    [],
    () => (reloadLater.current(), false),
  );
  reloadLater.current = useThrottled(inv.reload);
  const [text, setText] = useState('');
  const [status, setStatus] = useState('');
  const [sort, setSort] = useState<{ key: Key; dir: 1 | -1 }>({ key: 'status', dir: 1 });
  const rows = useMemo(() => {
    const all = inv.data?.secrets ?? [];
    const t = text.trim().toLowerCase();
    const picked = all.filter((r) => (status === '' || r.status === status) && (t === '' || r.path.toLowerCase().includes(t) || (r.type ?? '').includes(t) || (r.target ?? '').includes(t)));
    const c = compare(sort.key);
    return picked.sort((a, b) => c(a, b) * sort.dir);
  }, [inv.data, text, status, sort]);
  const scroller = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, [inv.data !== null]);
  const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((top + height) / ROW) + OVERSCAN);
  const counts = inv.data?.counts ?? {};
  return (
    <>
      <h1>Inventory</h1>
      <ErrorBox error={inv.error} />
      <div class="filters">
        <label>
          Filter <input type="search" value={text} placeholder="path, type or target" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {['overdue', 'failing', 'warning', 'ok'].map((s) => (
              <option value={s}>
                {s} ({counts[s] ?? 0})
              </option>
            ))}
          </select>
        </label>
        <span role="status" class="count">
          {inv.data ? `${rows.length} of ${inv.data.secrets.length} secrets` : 'Loading…'}
        </span>
      </div>
      {inv.data ? (
        <div class="scroller" ref={scroller} onScroll={(e) => setTop((e.target as HTMLDivElement).scrollTop)} tabIndex={0} aria-label="Secrets (scroll for more)" role="region">
          <table class="grid" aria-rowcount={rows.length + 1} data-testid="inventory">
            <thead>
              <tr aria-rowindex={1}>
                {COLUMNS.map(([key, label]) => (
                  <th scope="col" aria-sort={sort.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : undefined}>
                    <button type="button" class="sort" onClick={() => setSort((s) => ({ key, dir: s.key === key ? (-s.dir as 1 | -1) : 1 }))}>
                      {label}
                      {sort.key === key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {first > 0 ? <tr class="spacer" style={{ height: `${first * ROW}px` }} aria-hidden="true" /> : null}
              {rows.slice(first, last).map((r, i) => (
                <tr key={r.path} aria-rowindex={first + i + 2} style={{ height: `${ROW}px` }}>
                  <td class="path">
                    <a href={`#/secret/${enc(r.path)}`}>{r.path}</a>
                  </td>
                  <td>{r.type ?? '—'}</td>
                  <td>{r.target ?? '—'}</td>
                  <td>
                    <AgeBar row={r} />
                  </td>
                  <td title={r.overdueAt ? `overdue at ${when(r.overdueAt)}` : undefined}>{when(r.dueAt)}</td>
                  <td>
                    <Badge status={r.status} />
                  </td>
                  <td>{r.lastRunId ? <a href={`#/run/${encodeURIComponent(r.lastRunId)}`}>{r.lastResult}</a> : (r.lastResult ?? '—')}</td>
                </tr>
              ))}
              {last < rows.length ? <tr class="spacer" style={{ height: `${(rows.length - last) * ROW}px` }} aria-hidden="true" /> : null}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
