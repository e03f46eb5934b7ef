import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_BOUND_EXPONENTS } from '../../src/jobs/read/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { generateExecutions, insertExecutions } from '../helpers/factories.js';

/** The samples of one metric family: `name{labels} value`, labels as written. */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) found.set(m[2] ?? '', Number(m[3]));
  }
  return found;
}

describe(`/metrics from the rollups on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    await insertExecutions(database.handle.db, generateExecutions({ count: 600, seed: 3, spanMinutes: 300 }));
    // Durations of exactly a bound (2 s, 64 s) and of 0, which must count at le=2, le=64 and everywhere.
    await database.handle.query(`UPDATE job_executions SET completed_at = started_at + interval '2 s' WHERE job_id LIKE '%1' AND completed_at IS NOT NULL AND started_at IS NOT NULL`);
    await database.handle.query(`UPDATE job_executions SET completed_at = started_at + interval '64 s' WHERE job_id LIKE '%2' AND completed_at IS NOT NULL AND started_at IS NOT NULL`);
    await database.handle.query(`UPDATE job_executions SET completed_at = started_at WHERE job_id LIKE '%3' AND completed_at IS NOT NULL AND started_at IS NOT NULL`);
    t = await startTestApp(database.handle);
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  it('reports durations and queue waits as cumulative histograms equal to counting the rows at each bound', async () => {
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    for (const [metric, interval, condition] of [
      ['jobscope_job_duration_seconds', 'completed_at - started_at', 'completed_at IS NOT NULL AND started_at IS NOT NULL'],
      ['jobscope_job_queue_wait_seconds', 'started_at - created_at', 'started_at IS NOT NULL'],
    ] as const) {
      const expression = `date_part('epoch', ${interval})`;
      expect(text).toContain(`# TYPE ${metric} histogram`);
      const buckets = samples(text, `${metric}_bucket`);
      const sums = samples(text, `${metric}_sum`);
      const counts = samples(text, `${metric}_count`);
      const exact = await database.handle.query<{ job_type: string; status: string; n: unknown; total: unknown; le: unknown }>(
        `SELECT job_type, status::text AS status, count(*) AS n, sum(EXTRACT(EPOCH FROM (${interval}))) AS total,
                ARRAY[${METRIC_BOUND_EXPONENTS.map((k) => `count(*) FILTER (WHERE ${expression} <= ${2 ** k})`).join(', ')}] AS le
         FROM job_executions WHERE ${condition} GROUP BY job_type, status`,
      );
      expect(exact.length).toBeGreaterThan(3);
      expect(counts.size).toBe(exact.length);
      for (const row of exact) {
        const labels = `job_type="${row.job_type}",status="${row.status}"`;
        expect(counts.get(`{${labels}}`)).toBe(Number(row.n));
        expect(sums.get(`{${labels}}`)).toBeCloseTo(Number(row.total), 6);
        expect(buckets.get(`{${labels},le="+Inf"}`)).toBe(Number(row.n));
        const le = (Array.isArray(row.le) ? row.le : String(row.le).replace(/[{}]/g, '').split(',')).map(Number);
        METRIC_BOUND_EXPONENTS.forEach((k, i) => {
          expect(buckets.get(`{${labels},le="${2 ** k}"}`), `${metric} ${labels} le=${2 ** k}`).toBe(le[i]);
        });
      }
    }
  });

  it('reports job counts from the rollups and follows changes', async () => {
    const before = samples(await (await fetch(`${t.baseUrl}/metrics`)).text(), 'jobscope_jobs');
    const exact = await database.handle.query<{ job_type: string; status: string; n: unknown }>(
      `SELECT job_type, status::text AS status, count(*) AS n FROM job_executions GROUP BY 1, 2`,
    );
    for (const row of exact) expect(before.get(`{job_type="${row.job_type}",status="${row.status}"}`)).toBe(Number(row.n));
    await database.handle.query(`UPDATE job_executions SET status = 'completed' WHERE status = 'failed' AND job_type = 'send-email'`);
    const after = samples(await (await fetch(`${t.baseUrl}/metrics`)).text(), 'jobscope_jobs');
    expect(after.get('{job_type="send-email",status="failed"}') ?? 0).toBe(0);
    expect(after.get('{job_type="send-email",status="completed"}')).toBe(
      before.get('{job_type="send-email",status="completed"}')! + before.get('{job_type="send-email",status="failed"}')!,
    );
  });

  it("reports Yoga's operation metrics in the same registry, without client-chosen labels", async () => {
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query SomeClientName { jobStats { jobType } }' }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(text).toMatch(/^graphql_yoga_http_duration_count\{method="POST",statusCode="200",operationType="query"\} [1-9]/m);
    expect(text).toMatch(/^graphql_envelop_phase_execute_count\{[^}]*operationType="query"[^}]*\} [1-9]/m);
    expect(text).not.toContain('SomeClientName');
    expect(text).toContain('jobscope_job_duration_seconds_bucket');
  });
});
