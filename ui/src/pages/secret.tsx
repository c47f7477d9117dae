/**
 * One secret: its versions and stages, lifecycle events, runs, the agents that hold each version,
 * the replica stores and their lag, and the actions the caller has (rotate now; reveal the value, which is a normal audited read).
 * Rotate now follows the run: the change stream's rotation event names its id, and the page
 * moves to that run's timeline while the rotation goes on.
 */
import { useState } from 'preact/hooks';
import { api, enc, type Run, type Self } from '../api.js';
import { onChange } from '../live.js';
import { Badge, ConfirmButton, duration, Empty, ErrorBox, Head, Section, useLoad, when } from '../ui.js';

interface History {
  path: string;
  type?: string | null;
  description?: string | null;
  owner?: string | null;
  current: { id: string; version: number } | null;
  history: Array<{ id: string; version: number; stages: string[]; kind: string; createdAt: string | number }>;
}
interface LifeEvent {
  time: string;
  kind: string;
  version: number | null;
  actor: string | null;
  runId: string | null;
}
interface Replica {
  replica: string;
  wanted: { version: number; since: string };
  has: { version: number; syncedAt: string | null } | null;
  lagSeconds: number;
  attempts: number;
  error: { code: string; message: string | null } | null;
}
interface Delivery {
  agent: string;
  path: string;
  version: number;
  versionId: string;
  destination: string;
  reportedAt: string | number;
  subscribed: boolean;
  current: boolean | null;
}

function Reveal({ path }: { path: string }): preact.JSX.Element {
  const [value, setValue] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (value !== null)
    return (
      <div class="reveal">
        <pre aria-label="secret value" data-testid="secret-value">
          {value}
        </pre>
        <button type="button" onClick={() => setValue(null)}>
          Hide value
        </button>
      </div>
    );
  const read = async (): Promise<void> => {
    try {
      const v = await api<{ value: unknown }>('GET', `/v1/secrets/${enc(path)}`);
      setValue(typeof v.value === 'string' ? v.value : JSON.stringify(v.value, null, 2));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <span>
      <button type="button" onClick={() => void read()}>
        Reveal value
      </button>
      <span class="muted"> (recorded in the audit log as a read)</span>
      <ErrorBox error={error} />
    </span>
  );
}

export function SecretPage({ path }: { path: string }): preact.JSX.Element {
  const mine = (c: { path: string }): boolean => c.path === path;
  const self = useLoad(() => api<Self>('GET', `/v1/self?path=${encodeURIComponent(path)}`), [path]);
  const caps = self.data?.capabilities ?? [];
  const hist = useLoad(() => api<History>('GET', `/v1/history/${enc(path)}`), [path], mine);
  const life = useLoad(() => api<{ events: LifeEvent[] }>('GET', `/v1/lifecycle/${enc(path)}?limit=50`), [path], mine);
  const runs = useLoad(
    () => (caps.includes('read') || caps.includes('rotate') ? api<{ runs: Run[] }>('GET', `/v1/runs?path=${encodeURIComponent(path)}&limit=20`) : Promise.resolve({ runs: [] })),
    [path, caps.join()],
    mine,
  );
  const deliveries = useLoad(() => api<{ deliveries: Delivery[] }>('GET', `/v1/deliveries?prefix=${encodeURIComponent(path)}`).then((d) => d.deliveries.filter((x) => x.path === path)), [path], mine);
  const replicas = useLoad(() => api<{ replicas: Replica[] }>('GET', `/v1/replicas/${enc(path)}`), [path], mine);
  const h = hist.data;
  return (
    <>
      <h1>
        Secret <code>{path}</code>
      </h1>
      <ErrorBox error={hist.error} />
      <div class="toolbar">
        {caps.includes('rotate') ? (
          <ConfirmButton
            label="Rotate now"
            question={`Rotate ${path} now? The target gets a new credential and every consumer is updated.`}
            action={() => {
              // Rotate now: the run's first change names it, and the page follows it there while the
              // request is still under way. Listening starts before the request goes, so no change is missed.
              const off = onChange((c) => {
                if (c.path !== path || c.kind !== 'rotation' || !c.runId) return;
                off();
                location.hash = `#/run/${encodeURIComponent(c.runId)}`;
              });
              return api<Run>('POST', `/v1/rotations/${enc(path)}`, {}).finally(off);
            }}
            onDone={(r) => (location.hash = `#/run/${encodeURIComponent((r as Run).id)}`)}
          />
        ) : null}
        {caps.includes('read') ? <Reveal path={path} /> : null}
      </div>
      {h ? (
        <dl class="facts">
          <dt>Type</dt>
          <dd>{h.type ?? '—'}</dd>
          <dt>Current version</dt>
          <dd data-testid="current-version">{h.current ? h.current.version : '—'}</dd>
          <dt>Owner</dt>
          <dd>{h.owner ?? '—'}</dd>
        </dl>
      ) : null}
      <Section title="Versions">
        <table>
          <Head cols={['Version', 'Stages', 'Kind', 'Created', 'Agents holding it']} />
          <tbody data-testid="versions">
            {(h?.history ?? []).map((v) => (
              <tr>
                <td>{v.version}</td>
                <td>
                  {v.stages.map((s) => (
                    <Badge status={s} />
                  ))}
                </td>
                <td>{v.kind}</td>
                <td>{when(v.createdAt)}</td>
                <td>
                  {(deliveries.data ?? [])
                    .filter((d) => d.versionId === v.id)
                    .map((d) => d.agent)
                    .join(', ') || '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Runs">
        <ErrorBox error={runs.error} />
        <table>
          <Head cols={['Run', 'Status', 'Step', 'Started', 'Error']} />
          <tbody>
            {(runs.data?.runs ?? []).map((r) => (
              <tr>
                <td>
                  <a href={`#/run/${encodeURIComponent(r.id)}`}>{r.id}</a>
                </td>
                <td>
                  <Badge status={r.status} />
                </td>
                <td>{r.step}</td>
                <td>{when(r.createdAt)}</td>
                <td>{r.error?.code ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Lifecycle events">
        <ErrorBox error={life.error} />
        <ol class="events">
          {(life.data?.events ?? [])
            .slice()
            .reverse()
            .map((e) => (
              <li>
                <time>{when(e.time)}</time> <strong>{e.kind}</strong>
                {e.version !== null ? ` v${e.version}` : ''} {e.actor ? <span class="muted">by {e.actor}</span> : null}
              </li>
            ))}
        </ol>
      </Section>
      <Section title="Replicas">
        <ErrorBox error={replicas.error} />
        <table>
          <Head cols={['Replica', 'Should hold', 'Holds', 'Lag', 'Attempts', 'Error']} />
          <tbody data-testid="replicas">
            {(replicas.data?.replicas ?? []).map((r) => (
              <tr>
                <td>{r.replica}</td>
                <td>v{r.wanted.version}</td>
                <td>{r.has ? `v${r.has.version} (${when(r.has.syncedAt)})` : '—'}</td>
                <td>
                  <Badge status={r.lagSeconds === 0 ? 'ok' : 'pending'} /> {duration(r.lagSeconds * 1000)}
                </td>
                <td>{r.attempts}</td>
                <td>{r.error ? `${r.error.code}: ${r.error.message ?? ''}` : ''}</td>
              </tr>
            ))}
            {replicas.data && replicas.data.replicas.length === 0 ? <Empty cols={6} text="No replica stores hold this secret." /> : null}
          </tbody>
        </table>
      </Section>
    </>
  );
}
