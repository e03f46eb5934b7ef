import type { Receiver } from '@upstash/qstash';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { JobRegistry } from '../jobs/registry.js';
import { processDelivery } from '../jobs/worker.js';
import { json } from './respond.js';

export interface WorkerEndpointDeps {
  db: Database;
  registry: JobRegistry;
  receiver: Receiver;
  /** Public base URL: signatures name the URL QStash was asked to call, so it is checked against it. */
  baseUrl: () => string;
  logger: Logger;
}

/**
 * The worker endpoints, one per registered job type. Answers undefined for paths that are not a
 * worker endpoint, so the router can go on.
 */
export function createWorkerEndpoint(deps: WorkerEndpointDeps) {
  return async function handleWorkerRequest(request: Request, url: URL): Promise<Response | undefined> {
    const definition = deps.registry.forEndpoint(url.pathname);
    if (!definition) return undefined;
    if (request.method !== 'POST') {
      return json(
        405,
        {
          endpoint: url.pathname,
          jobType: definition.type,
          message: 'Worker endpoint is up. QStash delivers jobs here with a signed POST.',
        },
        { Allow: 'POST' },
      );
    }

    // The signature covers the raw bytes: read them before anything parses the body.
    const body = await request.text();
    const signature = request.headers.get('upstash-signature');
    const signedUrl = deps.baseUrl() + url.pathname + url.search;
    try {
      if (!signature) throw new Error('missing Upstash-Signature header');
      await deps.receiver.verify({ signature, body, url: signedUrl });
    } catch (error) {
      deps.logger.warn('[jobs] Invalid QStash signature', {
        path: url.pathname,
        expectedUrl: signedUrl,
        reason: error instanceof Error ? error.message : String(error),
      });
      return json(401, { error: 'Invalid QStash signature' });
    }

    const messageId = request.headers.get('upstash-message-id');
    if (!messageId) return json(400, { error: 'Missing Upstash-Message-Id header' });
    const retried = Number.parseInt(request.headers.get('upstash-retried') ?? '0', 10);

    try {
      const answer = await processDelivery(
        { db: deps.db, logger: deps.logger },
        { definition, body, messageId, retried: Number.isFinite(retried) && retried >= 0 ? retried : 0 },
      );
      return json(answer.status, answer.body, answer.headers);
    } catch (error) {
      // Nothing committed for this outcome: a 5xx makes QStash deliver it again.
      deps.logger.error('[jobs] Recording the delivery failed', {
        jobType: definition.type,
        messageId,
        error: error instanceof Error ? error.message : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
      return json(500, { error: 'Could not record the job run; QStash will retry' });
    }
  };
}
