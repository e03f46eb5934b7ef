/**
 * What the QStash-state verbs (dead letters, schedules) need: the real `@upstash/qstash` Client
 * (the stand-in or QStash, by configuration only) and how jobscope names its worker endpoints.
 */
import { QstashError, type Client } from '@upstash/qstash';
import type { Database } from '../../db/client.js';
import type { Logger } from '../../logger.js';
import { QStashRequestError } from '../errors.js';
import type { JobRegistry } from '../registry.js';
import type { JobQueues } from './queues.js';

export interface QStashStateDeps {
  db: Database;
  registry: JobRegistry;
  logger: Logger;
  /** The Client, made once the server knows its own address. */
  qstash: () => Client;
  /** The public URL of a worker endpoint path (what QStash delivers to). */
  endpointUrl: (path: string) => string;
  /** The per-type queues: a schedule's runs go through their type's queue too, so pausing the type holds them. */
  queues: JobQueues;
}

/** Runs one Client call; a QStash refusal or outage becomes a coded QStashRequestError. */
export async function callQStash<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new QStashRequestError(error instanceof QstashError ? error.status : undefined, { cause: error });
  }
}

/** Whether a Client call failed with this HTTP status. */
export function isQStashStatus(error: unknown, status: number): boolean {
  return error instanceof QStashRequestError && error.status === status;
}
