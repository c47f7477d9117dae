/**
 * The web dashboard (docs/ui.md): log in with an API token, then the pages, routed by the URL's
 * hash (#/inventory, #/secret/PATH, #/run/ID, #/audit, #/breakglass, #/anomalies, #/compliance).
 * What the caller may not do is hidden (GET /v1/self, and each inventory row's capabilities); the
 * API checks every call anyway.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, prefetch, token, type Self } from './api.js';
import { onStreamState, stopStream } from './live.js';
import { ErrorBox } from './ui.js';
import { InventoryPage } from './pages/inventory.js';
import { SecretPage } from './pages/secret.js';
import { RunPage } from './pages/run.js';
import { AuditPage } from './pages/audit.js';
import { BreakGlassPage } from './pages/breakglass.js';
import { AnomaliesPage } from './pages/anomalies.js';
import { CompliancePage } from './pages/compliance.js';
import './style.css';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = (): void => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Login({ onIn }: { onIn: (self: Self) => void }): preact.JSX.Element {
  const [value, setValue] = useState('');
  const [jwt, setJwt] = useState('');
  const [issuer, setIssuer] = useState('');
  const [error, setError] = useState<unknown>(null);
  const enter = async (t: string): Promise<void> => {
    token.set(t);
    try {
      onIn(await api<Self>('GET', '/v1/self'));
    } catch (err) {
      token.clear();
      setError(err);
    }
  };
  const withToken = (e: Event): void => {
    e.preventDefault();
    void enter(value.trim());
  };
  // OIDC: an identity token (JWT) from a trusted issuer becomes a session token (POST /v1/auth/oidc/login, docs/access.md).
  const withJwt = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      const session = await api<{ token: string }>('POST', '/v1/auth/oidc/login', { jwt: jwt.trim(), ...(issuer.trim() === '' ? {} : { issuer: issuer.trim() }) });
      await enter(session.token);
    } catch (err) {
      setError(err);
    }
  };
  const input = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  return (
    <main class="login">
      <h1>Keyturn</h1>
      <form onSubmit={withToken} aria-labelledby="with-token">
        <h2 id="with-token">With an API token</h2>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" placeholder="kt_…" value={value} onInput={input(setValue)} required />
        <button type="submit" class="primary">
          Log in
        </button>
        <p class="hint">The token stays in this tab (sessionStorage) and goes only to this server. Create one with `keyturn token create`.</p>
      </form>
      <form onSubmit={(e) => void withJwt(e)} aria-labelledby="with-oidc">
        <h2 id="with-oidc">With an identity token (OIDC)</h2>
        <label for="jwt">Identity token (JWT)</label>
        <textarea id="jwt" name="jwt" rows={3} autocomplete="off" value={jwt} onInput={input(setJwt)} required />
        <label for="issuer">Issuer name (optional)</label>
        <input id="issuer" name="issuer" type="text" autocomplete="off" value={issuer} onInput={input(setIssuer)} />
        <button type="submit">Log in with OIDC</button>
        <p class="hint">The server checks the JWT against an issuer of `keyturn oidc` and gives this tab a session token that ends with it.</p>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}

const NAV: Array<[string, string, (s: Self) => boolean]> = [
  ['#/inventory', 'Inventory', () => true],
  ['#/compliance', 'Compliance', () => true],
  ['#/audit', 'Audit', (s) => s.everywhere.includes('audit')],
  ['#/breakglass', 'Break-glass', () => true],
  ['#/anomalies', 'Anomalies', (s) => s.everywhere.includes('audit')],
];

function Page({ hash, self }: { hash: string; self: Self }): preact.JSX.Element {
  const [, route = 'inventory', ...rest] = hash.replace(/^#/, '').split('/');
  const arg = rest.map(decodeURIComponent).join('/');
  switch (route) {
    case 'secret':
      return <SecretPage path={arg} />;
    case 'run':
      return <RunPage id={arg} />;
    case 'audit':
      return <AuditPage />;
    case 'breakglass':
      return <BreakGlassPage self={self} />;
    case 'anomalies':
      return <AnomaliesPage />;
    case 'compliance':
      return <CompliancePage />;
    default:
      return <InventoryPage />;
  }
}

function App(): preact.JSX.Element {
  const hash = useHash();
  const [self, setSelf] = useState<Self | null>(null);
  const [checking, setChecking] = useState(token.get() !== null);
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (token.get() === null) return;
    api<Self>('GET', '/v1/self').then(
      (s) => (setSelf(s), setChecking(false)),
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) token.clear();
        setChecking(false);
      },
    );
  }, []);
  useEffect(() => onStreamState(setLive), []);
  if (checking) return <p>Loading…</p>;
  if (self === null) return <Login onIn={setSelf} />;
  const logout = (): void => {
    token.clear();
    stopStream();
    setSelf(null);
  };
  const current = hash === '' ? '#/inventory' : hash;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">Keyturn</span>
        <nav aria-label="Pages">
          {NAV.filter(([, , show]) => show(self)).map(([href, label]) => (
            <a href={href} aria-current={current.startsWith(href) ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          <span class={`dot ${live ? 'up' : 'down'}`} role="status" aria-label={live ? 'live updates on' : 'live updates reconnecting'} title={live ? 'live' : 'reconnecting'} />
          {self.subject}
          <button type="button" onClick={logout}>
            Log out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Page hash={current} self={self} />
      </main>
    </>
  );
}

// The inventory is the usual first page: its request goes out with the caller's check, not after it.
if (/^(#\/?(inventory)?)?$/.test(location.hash)) prefetch('/v1/inventory');
render(<App />, document.getElementById('app')!);
