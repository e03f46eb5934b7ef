import type { SystemCheck } from '../checks/system-check.js';
import type { DatabaseHandle } from '../db/client.js';
import type { Jobs } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import { isDatabaseUnavailable } from '../db/client.js';
import { databaseUnavailable, json } from './respond.js';

/**
 * `GET /health`: liveness with a database round trip (503 when the database does not answer).
 * `GET /health/jobs`: the guide's job-health check (failure rate over the health window, stuck
 * jobs), judged by the configured policy unless the query overrides window or threshold; 503 when
 * unhealthy so a plain HTTP monitor can alert on it, 400 naming a bad query value.
 * `GET /health/checks`: the troubleshooting checklist (systemCheck) as JSON; 503 when a check fails.
 */
export function createHealthEndpoint(deps: {
  database: DatabaseHandle;
  jobs: Jobs;
  qstash: 'local' | 'remote';
  logger: Logger;
  systemCheck: () => Promise<SystemCheck>;
}) {
  return async function handleHealth(request: Request, path: string, query: URLSearchParams): Promise<Response | undefined> {
    if (request.method !== 'GET') return undefined;
    if (path === '/health') {
      try {
        await deps.database.query('SELECT 1');
      } catch (error) {
        // The driver's message names hosts and ports: it goes to the log, not to whoever asks.
        deps.logger.error('[health] Database round trip failed', { error: error instanceof Error ? error.message : String(error) });
        return databaseUnavailable();
      }
      return json(200, {
        status: 'ok',
        database: deps.database.kind,
        qstash: deps.qstash,
        jobTypes: deps.jobs.registry.types(),
      });
    }
    if (path === '/health/checks') {
      const report = await deps.systemCheck();
      return json(report.status === 'FAIL' ? 503 : 200, report);
    }
    if (path === '/health/jobs') {
      const problems: string[] = [];
      const windowMinutes = positiveNumber(query, 'windowMinutes', problems, { integer: true });
      const failureRateThreshold = positiveNumber(query, 'failureRateThreshold', problems, { max: 1 });
      if (problems.length > 0) return json(400, { error: 'Bad query', problems });
      let report;
      try {
        report = await deps.jobs.read.health({ windowMinutes, failureRateThreshold });
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        deps.logger.error('[health] Job health query failed: the database is unavailable', { error: error instanceof Error ? error.message : String(error) });
        return databaseUnavailable();
      }
      return json(report.status === 'healthy' ? 200 : 503, report);
    }
    return undefined;
  };
}

/** An optional positive number in the query; a present but bad value is a problem, never a silent default. */
function positiveNumber(
  query: URLSearchParams,
  name: string,
  problems: string[],
  rules: { integer?: boolean; max?: number },
): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const n = text.trim() === '' ? Number.NaN : Number(text);
  const ok = Number.isFinite(n) && n > 0 && (!rules.integer || Number.isInteger(n)) && (rules.max === undefined || n <= rules.max);
  if (!ok) {
    const kind = rules.integer ? 'a positive integer' : `a number above 0${rules.max !== undefined ? ` and at most ${rules.max}` : ''}`;
    problems.push(`${name}: must be ${kind}, got ${JSON.stringify(text)}`);
    return undefined;
  }
  return n;
}
