/**
 * The compliance summary: how many secrets are ok, warning, overdue or failing, and a bar chart
 * (inline SVG) of the secrets by age against their policy's maximum, with the same numbers as a
 * table for screen readers. From `GET /v1/inventory`, reloaded when the change stream reports a change.
 */
import { api, type Inventory } from '../api.js';
import { Badge, ErrorBox, Head, Section, useLoad } from '../ui.js';

const BUCKETS: Array<[string, (r: number) => boolean, string]> = [
  ['under 50%', (r) => r < 0.5, '#2e7d32'],
  ['50–80%', (r) => r >= 0.5 && r < 0.8, '#558b2f'],
  ['80–100%', (r) => r >= 0.8 && r < 1, '#b26a00'],
  ['100–150%', (r) => r >= 1 && r < 1.5, '#c62828'],
  ['over 150%', (r) => r >= 1.5, '#8e0000'],
];

export function CompliancePage(): preact.JSX.Element {
  const inv = useLoad(
    () => api<Inventory>('GET', '/v1/inventory'),
    [],
    () => true,
  );
  const rows = inv.data?.secrets ?? [];
  const withMax = rows.filter((r) => r.maxAgeMs);
  const counts = BUCKETS.map(([label, test, color]) => ({ label, color, n: withMax.filter((r) => test(r.ageMs / r.maxAgeMs!)).length }));
  counts.push({ label: 'no maximum', color: '#546e7a', n: rows.length - withMax.length });
  const top = Math.max(1, ...counts.map((c) => c.n));
  const W = 560;
  const H = 220;
  const bw = W / counts.length;
  return (
    <>
      <h1>Compliance</h1>
      <ErrorBox error={inv.error} />
      {inv.data ? (
        <>
          <p data-testid="compliance-counts">
            {(['ok', 'warning', 'overdue', 'failing'] as const).map((s) => (
              <span class="count-item">
                <Badge status={s} /> {inv.data!.counts[s] ?? 0}
              </span>
            ))}
          </p>
          <Section title="Secrets by age against their policy's maximum">
            <svg class="chart" viewBox={`0 -20 ${W} ${H + 60}`} width={W} height={H + 60} role="img" aria-label={counts.map((c) => `${c.label}: ${c.n}`).join(', ')}>
              {counts.map((c, i) => {
                const h = Math.round((c.n / top) * H);
                return (
                  <g>
                    <rect x={i * bw + 8} y={H - h} width={bw - 16} height={h} fill={c.color} />
                    <text x={i * bw + bw / 2} y={H - h - 4} text-anchor="middle" fill="#111">
                      {c.n}
                    </text>
                    <text x={i * bw + bw / 2} y={H + 18} text-anchor="middle" fill="#111" font-size="12">
                      {c.label}
                    </text>
                  </g>
                );
              })}
              <line x1="0" y1={H} x2={W} y2={H} stroke="#444" />
            </svg>
            <table class="sr-table">
              <caption>Secrets by age as a share of the policy maximum</caption>
              <Head cols={['Age / maximum', 'Secrets']} />
              <tbody>
                {counts.map((c) => (
                  <tr>
                    <td>{c.label}</td>
                    <td>{c.n}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        </>
      ) : (
        <p>Loading…</p>
      )}
    </>
  );
}
