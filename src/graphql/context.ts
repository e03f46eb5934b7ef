import type { SystemCheck } from '../checks/system-check.js';
import type { Alerts } from '../jobs/alerts/index.js';
import type { Actor, Jobs } from '../jobs/index.js';

/** What an API key allows: `read` (queries, subscriptions) or `operate` (also mutations). */
export type ApiScope = 'read' | 'operate';

/** Per-request context: the jobs domain, who is calling and what their key allows. */
export interface GraphQLContext {
  jobs: Jobs;
  /** Alert rules, their events, acknowledgements and mutes. */
  alerts: Alerts;
  /** Runs the troubleshooting checklist of this deployment. */
  systemCheck: () => Promise<SystemCheck>;
  /** Who is calling: the API key's holder, or `anonymous` when no keys are configured. */
  actor: Actor;
  /** Scope of the caller's API key; `operate` also when no keys are configured (open development mode). */
  scope: ApiScope | undefined;
}
