import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/client.js';
import { jobHealth } from '../jobs/queries.js';
import type { JobRegistry } from '../jobs/registry.js';
import { json } from './respond.js';

/**
 * `GET /health`: liveness with a database round trip (503 when the database does not answer).
 * `GET /health/jobs`: the guide's job-health check (failure rate over the last hour, stuck jobs);
 * 503 when unhealthy so a plain HTTP monitor can alert on it.
 */
export function createHealthEndpoint(deps: { database: DatabaseHandle; config: Config; registry: JobRegistry }) {
  return async function handleHealth(request: Request, url: URL): Promise<Response | undefined> {
    if (request.method !== 'GET') return undefined;
    if (url.pathname === '/health') {
      try {
        await deps.database.query('SELECT 1');
      } catch (error) {
        return json(503, { status: 'error', database: 'unreachable', error: String(error) });
      }
      return json(200, {
        status: 'ok',
        database: deps.database.kind,
        qstash: deps.config.qstash.kind,
        jobTypes: deps.registry.types(),
      });
    }
    if (url.pathname === '/health/jobs') {
      const windowMinutes = positiveNumber(url.searchParams.get('windowMinutes')) ?? 60;
      const failureRateThreshold = positiveNumber(url.searchParams.get('failureRateThreshold')) ?? 0.05;
      const report = await jobHealth(deps.database.db, { windowMinutes, failureRateThreshold });
      return json(report.status === 'healthy' ? 200 : 503, report);
    }
    return undefined;
  };
}

function positiveNumber(value: string | null): number | undefined {
  const n = value === null ? Number.NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
