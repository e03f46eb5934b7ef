import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { JobDispatcher } from '../jobs/dispatcher.js';
import type { JobEventBus } from '../jobs/events.js';
import type { JobRegistry } from '../jobs/registry.js';
import type { Logger } from '../logger.js';

/** Long-lived services the GraphQL layer calls; built once per server. */
export interface GraphQLDeps {
  config: Config;
  db: Database;
  registry: JobRegistry;
  dispatcher: JobDispatcher;
  events: JobEventBus;
  logger: Logger;
}

/** Per-request context: the services plus who is calling. */
export interface GraphQLContext extends GraphQLDeps {
  /** Scope of the caller's API key; `operate` also when no keys are configured (open development mode). */
  scope: 'read' | 'operate' | undefined;
}
