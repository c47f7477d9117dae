/**
 * One rotation run: its step timeline (each attempt of each step, its outcome and how long it
 * took, drawn to scale), retries, consumer deliveries and the agents that hold (or miss) the new
 * version; cancel and resume for a caller with `rotate`. Reloaded on each change of the run or its
 * secret, so the steps appear as the engine takes them. The run's outcome event can be streamed a
 * moment before its row is committed: when the page still shows the run unfinished after its
 * outcome, it asks again a few times (SETTLE_MS apart), then waits for the stream again.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, type Run, type Self } from '../api.js';
import { Badge, ConfirmButton, duration, Empty, ErrorBox, Head, type Loaded, Section, useLoad, when } from '../ui.js';

const FINISHED = new Set(['done', 'failed', 'cancelled']);
const SETTLE_MS = 250;
const SETTLE_TRIES = 8;

export function RunPage({ id }: { id: string }): preact.JSX.Element {
  const pathOf = useRef<string | null>(null);
  const [outcomes, setOutcomes] = useState(0);
  const run: Loaded<Run> = useLoad(
    () => api<Run>('GET', `/v1/runs/${encodeURIComponent(id)}`),
    [id],
    (c) => {
      if (c.runId === id && c.kind === 'rotation' && c.outcome !== 'intent') setOutcomes((n) => n + 1);
      return c.runId === id || c.path === pathOf.current;
    },
  );
  const r = run.data;
  pathOf.current = r?.path ?? null;
  const tries = useRef(0);
  useEffect(() => {
    if (outcomes === 0 || !r || FINISHED.has(r.status) || tries.current >= SETTLE_TRIES) return;
    tries.current += 1;
    const t = setTimeout(run.reload, SETTLE_MS);
    return () => clearTimeout(t);
  }, [outcomes, r]);
  const self = useLoad(() => (r ? api<Self>('GET', `/v1/self?path=${encodeURIComponent(r.path)}`) : Promise.resolve(null)), [r?.path]);
  const mayRotate = self.data?.capabilities?.includes('rotate') ?? false;
  const steps = r?.steps ?? [];
  const t0 = steps.length > 0 ? Date.parse(steps[0]!.startedAt) : 0;
  const ends = steps.map((s) => Date.parse(s.startedAt) + (s.ms ?? 0));
  const total = Math.max(1, ...ends.map((e) => e - t0));
  return (
    <>
      <h1>
        Run <code>{id}</code>
      </h1>
      <ErrorBox error={run.error} />
      {r ? (
        <>
          <dl class="facts">
            <dt>Secret</dt>
            <dd>
              <a href={`#/secret/${enc(r.path)}`}>{r.path}</a>
            </dd>
            <dt>Status</dt>
            <dd data-testid="run-status">
              <Badge status={r.status} />
            </dd>
            <dt>Strategy</dt>
            <dd>{r.strategy}</dd>
            <dt>Attempt</dt>
            <dd>{r.attempt}</dd>
            <dt>Started</dt>
            <dd>{when(r.createdAt)}</dd>
            <dt>Finished</dt>
            <dd>{when(r.finishedAt)}</dd>
            {r.error ? (
              <>
                <dt>Error</dt>
                <dd>
                  {r.error.code}: {r.error.message}
                </dd>
              </>
            ) : null}
            {r.nextAttemptAt ? (
              <>
                <dt>Next attempt</dt>
                <dd>{when(r.nextAttemptAt)}</dd>
              </>
            ) : null}
          </dl>
          {mayRotate && !FINISHED.has(r.status) ? (
            <div class="toolbar">
              <ConfirmButton label="Resume" question={`Continue run ${id} now?`} action={() => api('POST', `/v1/runs/${encodeURIComponent(id)}/resume`, {})} onDone={run.reload} />
              <ConfirmButton
                label="Cancel run"
                danger
                question={`Cancel run ${id}? Its pending version is cleared once the current credential logs in.`}
                action={() => api('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`, {})}
                onDone={run.reload}
              />
            </div>
          ) : null}
          <Section title="Steps">
            <ol class="timeline" data-testid="steps">
              {steps.map((s) => {
                const start = Date.parse(s.startedAt) - t0;
                return (
                  <li class={`step ${s.outcome}`} data-step={s.step} key={s.seq}>
                    <span class="name">
                      {s.step}
                      {s.attempt > 1 ? <span class="retry"> (attempt {s.attempt})</span> : null}
                    </span>
                    <Badge status={s.outcome === 'ok' ? 'ok' : s.outcome} />
                    <span class="dur">{s.ms === null ? '…' : duration(s.ms)}</span>
                    <span class="track" aria-hidden="true">
                      <span class="seg" style={{ marginLeft: `${(start / total) * 100}%`, width: `${Math.max(0.5, ((s.ms ?? 0) / total) * 100)}%` }} />
                    </span>
                    {s.detail || s.errorCode ? <div class="detail muted">{[s.errorCode, s.detail].filter(Boolean).join(': ')}</div> : null}
                  </li>
                );
              })}
              {steps.length === 0 ? <li class="muted">No step taken yet.</li> : null}
            </ol>
          </Section>
          <Section title="Consumers">
            <table>
              <Head cols={['Consumer', 'Status', 'Attempts', 'Error']} />
              <tbody>
                {(r.consumers ?? []).map((c) => (
                  <tr>
                    <td>{c.target}</td>
                    <td>
                      <Badge status={c.status} />
                    </td>
                    <td>{c.attempts}</td>
                    <td>{c.error === null ? '' : typeof c.error === 'string' ? c.error : c.error.code}</td>
                  </tr>
                ))}
                {(r.consumers ?? []).length === 0 ? <Empty cols={4} text="No consumers." /> : null}
              </tbody>
            </table>
          </Section>
          {r.agents ? (
            <Section title="Agents">
              <p>
                Hold the new version: {r.agents.have.map((a) => a.agent).join(', ') || 'none'}. Missing it: {r.agents.missing.map((a) => a.agent).join(', ') || 'none'}.
              </p>
            </Section>
          ) : null}
        </>
      ) : null}
    </>
  );
}
