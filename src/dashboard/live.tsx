import { useState } from 'preact/hooks';
import { count, time } from './format.js';
import { useJobEvents, type LiveEvent } from './live-events.js';
import { href } from './router.js';
import { Status } from './ui.js';

const KEEP = 200;

/** The jobEvents subscription as a feed, newest first, with a count per event type since the page opened. */
export function Live() {
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [connected, setConnected] = useState(false);
  useJobEvents(
    (event) => {
      setEvents((list) => [event, ...list].slice(0, KEEP));
      setCounts((c) => ({ ...c, [event.type]: (c[event.type] ?? 0) + 1 }));
    },
    undefined,
    () => setConnected(true),
  );
  return (
    <section aria-labelledby="live-h">
      <h2 id="live-h">
        Live events <small data-testid="live-state">{connected ? '● connected' : '○ connecting…'}</small>
      </h2>
      <dl class="figures">
        {['ENQUEUED', 'STARTED', 'COMPLETED', 'RETRYING', 'FAILED', 'CANCELLED'].map((t) => (
          <div>
            <dt>{t.toLowerCase()}</dt>
            <dd data-testid={`live-${t.toLowerCase()}`}>{count(counts[t] ?? 0)}</dd>
          </div>
        ))}
      </dl>
      {events.length === 0 ? (
        <p class="muted">Waiting for events…</p>
      ) : (
        <ol class="feed" data-testid="live-feed" aria-live="polite" aria-relevant="additions">
          {events.map((e) => (
            <li data-job={e.jobId} data-type={e.type}>
              <time>{time(e.occurredAt)}</time> <strong>{e.type.toLowerCase()}</strong> <a href={href(`/jobs/${e.jobId}`)}>{e.jobId}</a> {e.jobType}{' '}
              <Status status={e.status} /> {e.error ? <span class="muted">{e.error}</span> : null}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
