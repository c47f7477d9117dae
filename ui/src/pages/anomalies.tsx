/** Access anomalies the detectors found in the last week, newest first (`GET /v1/anomalies`; `audit` on `**`). */
import { api } from '../api.js';
import { Empty, ErrorBox, Head, useLoad, when } from '../ui.js';

interface Anomaly {
  id: string;
  type: string;
  time: string;
  actor: string;
  path: string | null;
  address: string | null;
  score: number;
  reason: string;
  rotation: string | null;
}

export function AnomaliesPage(): preact.JSX.Element {
  const list = useLoad(() => api<{ anomalies: Anomaly[] }>('GET', `/v1/anomalies?since=${7 * 86_400}&limit=500`), []);
  const rows = list.data?.anomalies ?? [];
  return (
    <>
      <h1>Anomalies</h1>
      <p class="muted">Found in the last 7 days by the access detectors (docs/anomalies.md).</p>
      <ErrorBox error={list.error} />
      <table>
        <Head cols={['Time', 'Type', 'Actor', 'Path', 'Address', 'Score', 'Why', 'Rotation']} />
        <tbody>
          {rows.map((a) => (
            <tr key={a.id}>
              <td>{when(a.time)}</td>
              <td>{a.type}</td>
              <td>{a.actor}</td>
              <td>{a.path ?? ''}</td>
              <td>{a.address ?? ''}</td>
              <td>{a.score.toFixed(2)}</td>
              <td>{a.reason}</td>
              <td>{a.rotation?.startsWith('run_') ? <a href={`#/run/${encodeURIComponent(a.rotation)}`}>{a.rotation}</a> : (a.rotation ?? '')}</td>
            </tr>
          ))}
          {list.data && rows.length === 0 ? <Empty cols={8} text="No anomalies." /> : null}
        </tbody>
      </table>
    </>
  );
}
