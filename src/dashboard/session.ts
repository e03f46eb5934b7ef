import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { DashSessionQuery } from './gql/graphql.js';

/** The caller's role and the job types, read once per key. */
export type Session = DashSessionQuery;

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionContext');
  return session;
}

/** Actions (retry, cancel, replay, bulk) are rendered for an OPERATE key only. */
export const canOperate = (session: Session): boolean => session.viewer.role === 'OPERATE';
