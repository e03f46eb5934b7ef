import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { request, type GraphQLErrorShape } from './client.js';
import type { TypedDocumentString } from './gql/graphql.js';

export interface QueryState<R> {
  data: R | undefined;
  /** Fields that failed in an otherwise answered query, or the whole request's failure. */
  errors: GraphQLErrorShape[];
  error: Error | undefined;
  loading: boolean;
  refetch(): void;
}

/** Runs `document` when `variables` change (compared as JSON) and on `refetch`; keeps the last data while reloading. */
export function useQuery<R, V>(document: TypedDocumentString<R, V>, variables: V): QueryState<R> {
  const [state, setState] = useState<Omit<QueryState<R>, 'refetch'>>({ data: undefined, errors: [], error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(variables);
  const latest = useRef(0);
  useEffect(() => {
    const controller = new AbortController();
    const id = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    request(document, JSON.parse(key) as V, controller.signal).then(
      ({ data, errors }) => id === latest.current && setState({ data, errors, error: undefined, loading: false }),
      (error: unknown) => {
        if (controller.signal.aborted || id !== latest.current) return;
        setState((s) => ({ ...s, error: error instanceof Error ? error : new Error(String(error)), loading: false }));
      },
    );
    return () => controller.abort();
  }, [document, key, tick]);
  const refetch = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, refetch };
}
