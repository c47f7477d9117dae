/**
 * The audit log: whether it verifies against its last checkpoint, the checkpoint's public key
 * (to verify an export elsewhere), and a live tail of the latest events (new ones fetched when the
 * change stream reports a change, `GET /v1/audit/events?after=SEQ`; no timer). Needs `audit` on `**`.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { onChange } from '../live.js';
import { Badge, ErrorBox, Head, Section, useLoad, when } from '../ui.js';

interface AuditEvent {
  id: string;
  seq: number;
  time: string;
  actor: string;
  action: string;
  outcome: string;
  path: string | null;
  source?: string;
}
interface Verify {
  ok: boolean;
  size: number;
  verifiedSize: number;
  validCheckpoints: number;
  latest: { size: number; createdAt: string } | null;
  verifierKey: string | null;
  problems: Array<{ code?: string; message?: string } | string>;
}

export function AuditPage(): preact.JSX.Element {
  const verify = useLoad(() => api<Verify>('GET', '/v1/audit/verify'), []);
  const checkpoint = useLoad(() => api<{ size: number; root: string; createdAt: string; verifierKey: string; origin: string }>('GET', '/v1/audit/checkpoint'), []);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const next = useRef<number | null>(null);
  const busy = useRef(false);
  useEffect(() => {
    let gone = false;
    const more = async (): Promise<void> => {
      if (busy.current) return;
      busy.current = true;
      try {
        const url = next.current === null ? '/v1/audit/events?limit=100' : `/v1/audit/events?after=${next.current - 1}&limit=1000`;
        const r = await api<{ events: AuditEvent[]; next: number }>('GET', url);
        if (gone) return;
        next.current = r.next;
        setEvents((old) => {
          const seen = new Set(old.map((e) => e.seq));
          return [...r.events.filter((e) => !seen.has(e.seq)).reverse(), ...old].slice(0, 500);
        });
      } catch (e) {
        setError(e);
      } finally {
        busy.current = false;
      }
    };
    void more();
    const off = onChange(() => void more());
    return () => {
      gone = true;
      off();
    };
  }, []);
  const v = verify.data;
  return (
    <>
      <h1>Audit log</h1>
      <Section title="Verification">
        <ErrorBox error={verify.error} />
        {v ? (
          <p data-testid="verify">
            <Badge status={v.ok ? 'ok' : 'failed'} /> {v.ok ? 'The log verifies' : 'The log does NOT verify'}: {v.verifiedSize} of {v.size} events checked, {v.validCheckpoints} valid checkpoints
            {v.latest ? `, the latest at size ${v.latest.size} (${when(v.latest.createdAt)})` : ''}.{' '}
            <button type="button" onClick={verify.reload}>
              Verify again
            </button>
          </p>
        ) : (
          <p>Verifying…</p>
        )}
        {v && v.problems.length > 0 ? (
          <ul>
            {v.problems.map((p) => (
              <li>{typeof p === 'string' ? p : `${p.code ?? ''} ${p.message ?? ''}`}</li>
            ))}
          </ul>
        ) : null}
      </Section>
      <Section title="Public key">
        <ErrorBox error={checkpoint.error} />
        {checkpoint.data ? (
          <>
            <p>
              Verifier key (give it to <code>keyturn audit verify --file F --pubkey KEY</code>):
            </p>
            <pre class="key" data-testid="pubkey">
              {checkpoint.data.verifierKey}
            </pre>
            <p class="muted">
              Latest checkpoint: size {checkpoint.data.size}, {when(checkpoint.data.createdAt)}.
            </p>
          </>
        ) : null}
      </Section>
      <Section title="Live tail">
        <ErrorBox error={error} />
        <table>
          <Head cols={['Seq', 'Time', 'Actor', 'Action', 'Outcome', 'Path']} />
          <tbody data-testid="audit-tail">
            {events.slice(0, 200).map((e) => (
              <tr key={e.seq}>
                <td>{e.seq}</td>
                <td>{when(e.time)}</td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td>
                  <Badge status={e.outcome === 'success' ? 'ok' : e.outcome} />
                </td>
                <td>{e.path ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </>
  );
}
