/** Access anomalies the detectors found in the last week, newest first (`GET /v1/anomalies`; `audit` on `**`). */
import { api } from '../api.js';
import { ErrorBox, useLoad, when } from '../ui.js';

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
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Type</th>
            <th scope="col">Actor</th>
            <th scope="col">Path</th>
            <th scope="col">Address</th>
            <th scope="col">Score</th>
            <th scope="col">Why</th>
            <th scope="col">Rotation</th>
          </tr>
        </thead>
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
          {list.data && rows.length === 0 ? (
            <tr>
              <td colSpan={8} class="muted">
                No anomalies.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </>
  );
}
