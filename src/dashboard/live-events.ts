import { useEffect, useRef } from 'preact/hooks';
import { subscribe } from './client.js';
import { DashJobEventsDocument, type DashJobEventsSubscription, type JobFilter } from './gql/graphql.js';

export type LiveEvent = DashJobEventsSubscription['jobEvents'];

/** Calls `onEvent` for every job event `filter` names, over one SSE stream while mounted. */
export function useJobEvents(onEvent: (event: LiveEvent) => void, filter?: JobFilter, onOpen?: () => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const opened = useRef(onOpen);
  opened.current = onOpen;
  const key = JSON.stringify(filter ?? null);
  useEffect(() => {
    const sub = subscribe(DashJobEventsDocument, { filter: filter ?? null }, {
      next: (data) => handler.current(data.jobEvents),
      open: () => opened.current?.(),
    });
    return () => sub.close();
  }, [key]);
}

/** `fn` at most once per `ms`, trailing: a burst of events costs one refetch. */
export function useThrottled(fn: () => void, ms: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return () => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, ms);
  };
}
