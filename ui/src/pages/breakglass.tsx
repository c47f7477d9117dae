/**
 * Break-glass requests the caller may see (its own, and those on paths it may approve or audit),
 * with Approve and Deny for a pending request on a path where the caller has `approve` and that
 * it did not ask for itself (the API refuses otherwise anyway). Reloaded on each change.
 */
import { api, type Self } from '../api.js';
import { Badge, ConfirmButton, Empty, ErrorBox, Head, useLoad, when } from '../ui.js';

interface Request {
  id: string;
  path: string;
  reason: string;
  requester: string;
  status: string;
  ttlSeconds: number;
  createdAt: string;
  endsAt: string | null;
  approvals: Array<{ subject: string; at: string }>;
}

function Actions({ r, self, done }: { r: Request; self: Self; done: () => void }): preact.JSX.Element | null {
  const caps = useLoad(() => api<Self>('GET', `/v1/self?path=${encodeURIComponent(r.path)}`), [r.path]);
  if (r.status !== 'pending') return null;
  const mayApprove = (caps.data?.capabilities ?? []).includes('approve');
  const own = r.requester === self.subject;
  return (
    <span class="actions">
      {mayApprove && !own && !r.approvals.some((a) => a.subject === self.subject) ? (
        <ConfirmButton
          label="Approve"
          question={`Approve ${r.requester}'s break-glass read of ${r.path}? Reason: ${r.reason}`}
          action={() => api('POST', `/v1/breakglass/${encodeURIComponent(r.id)}/approve`, {})}
          onDone={done}
        />
      ) : null}
      {mayApprove || own ? (
        <ConfirmButton
          label={own ? 'Withdraw' : 'Deny'}
          danger
          question={`${own ? 'Withdraw' : 'Deny'} the break-glass request for ${r.path}?`}
          action={() => api('POST', `/v1/breakglass/${encodeURIComponent(r.id)}/deny`, {})}
          onDone={done}
        />
      ) : null}
    </span>
  );
}

export function BreakGlassPage({ self }: { self: Self }): preact.JSX.Element {
  const list = useLoad(
    () => api<{ requests: Request[] }>('GET', '/v1/breakglass'),
    [],
    () => true,
  );
  const requests = list.data?.requests ?? [];
  return (
    <>
      <h1>Break-glass requests</h1>
      <ErrorBox error={list.error} />
      <table>
        <Head cols={['Path', 'Requester', 'Reason', 'Status', 'Asked', 'Approvals', 'Actions']} />
        <tbody>
          {requests.map((r) => (
            <tr key={r.id}>
              <td>{r.path}</td>
              <td>{r.requester}</td>
              <td>{r.reason}</td>
              <td>
                <Badge status={r.status} />
              </td>
              <td>{when(r.createdAt)}</td>
              <td>{r.approvals.map((a) => a.subject).join(', ') || '—'}</td>
              <td>
                <Actions r={r} self={self} done={list.reload} />
              </td>
            </tr>
          ))}
          {list.data && requests.length === 0 ? <Empty cols={7} text="No requests." /> : null}
        </tbody>
      </table>
    </>
  );
}
