import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { apiKey, GRAPHQL_ENDPOINT, KEYS_REQUIRED, requestData, RequestError } from './client.js';
import { DashSessionDocument } from './gql/graphql.js';
import { JobPage } from './job.js';
import { Live } from './live.js';
import { Overview } from './overview.js';
import { href, useLocation } from './router.js';
import { Runs } from './runs.js';
import { SessionContext, type Session } from './session.js';
import './style.css';

function App() {
  const where = useLocation();
  const [session, setSession] = useState<Session | undefined>();
  const [needsKey, setNeedsKey] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();

  const connect = useCallback(async () => {
    setProblem(undefined);
    if (KEYS_REQUIRED && !apiKey.get()) return setNeedsKey(true);
    try {
      setSession(await requestData(DashSessionDocument, {}));
      setNeedsKey(false);
    } catch (error) {
      if (error instanceof RequestError && error.unauthenticated) {
        if (apiKey.get()) setProblem('That API key was not accepted.');
        apiKey.clear();
        setNeedsKey(true);
      } else setProblem(error instanceof Error ? error.message : String(error));
    }
  }, []);
  useEffect(() => void connect(), [connect]);

  const forget = () => {
    apiKey.clear();
    setSession(undefined);
    void connect();
  };

  const nav = [
    { path: '/', label: 'Overview' },
    { path: '/runs', label: 'Runs' },
    { path: '/live', label: 'Live' },
  ];
  const current = where.path.startsWith('/jobs/') ? '/runs' : where.path;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header>
        <h1>jobscope</h1>
        <nav aria-label="Main">
          {nav.map((n) => (
            <a href={href(n.path)} aria-current={current === n.path ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
          <a href={GRAPHQL_ENDPOINT}>GraphiQL</a>
        </nav>
        {session && (
          <p class="who" data-testid="viewer-role" data-value={session.viewer.role}>
            {session.viewer.name ?? 'open API'} · {session.viewer.role.toLowerCase()}
            {apiKey.get() && (
              <button type="button" class="link" onClick={forget}>
                Forget key
              </button>
            )}
          </p>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        {needsKey ? (
          <KeyForm onKey={connect} />
        ) : !session ? (
          <p aria-busy="true">Connecting…</p>
        ) : (
          <SessionContext.Provider value={session}>
            {where.path.startsWith('/jobs/') ? (
              <JobPage jobId={decodeURIComponent(where.path.slice('/jobs/'.length))} key={where.path} />
            ) : where.path === '/runs' ? (
              <Runs where={where} />
            ) : where.path === '/live' ? (
              <Live />
            ) : (
              <Overview />
            )}
          </SessionContext.Provider>
        )}
      </main>
    </>
  );
}

function KeyForm({ onKey }: { onKey: () => void }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="key-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!key.trim()) return;
        apiKey.set(key.trim());
        onKey();
      }}
    >
      <h2>API key</h2>
      <p>This jobscope asks for an API key (a read key shows the jobs; an operate key also acts on them). It is kept in this tab's session storage only.</p>
      <label for="api-key">API key</label>
      <input id="api-key" name="api-key" type="password" autocomplete="off" autoFocus value={key} onInput={(e) => setKey(e.currentTarget.value)} />
      <button type="submit">Connect</button>
    </form>
  );
}

render(<App />, document.getElementById('app')!);
