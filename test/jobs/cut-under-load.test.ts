import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '@upstash/qstash';
import { createClient as createSSEClient } from 'graphql-sse';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES } from '../../src/db/schema.js';
import { defineJob } from '../../src/jobs/registry.js';
import { DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { openThroughProxy, type ProxiedDatabase, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The combined fault: jobscope reaches PostgreSQL through a TCP proxy; under a steady load
 * of jobs delivered (signed) through the stand-in, the proxy is cut for 4 s and restored. No job
 * may be lost or run twice, the worker answers 5xx while cut, /health is 503 during the cut and
 * 200 soon after, and a jobEvents subscriber hears every event the database recorded, once.
 * PostgreSQL only: PGlite runs in-process, with no connection to cut.
 */
const CUT_MS = 4_000;
const LOAD_BEFORE_MS = 2_500;
const LOAD_AFTER_MS = 2_500;
/** Once restored, /health must answer 200 within this (postgres.js' own backoff took 10–20 s). */
const HEALTHY_WITHIN_MS = 3_000;
const READ_KEY = 'cut-read';
const JOB_TYPE = 'cut-load';

/** Handler runs per job id: a second run of any job is the failure this test looks for. */
const runs = new Map<string, number>();
const cutLoadJob = defineJob({
  type: JOB_TYPE,
  endpoint: '/api/jobs/cut-load',
  schema: z.object({ n: z.number().int() }),
  timeoutSeconds: 10,
  // QStash retries the 503s answered while cut: enough of them to outlast the cut (below).
  retries: 10,
  async handler(_payload, job) {
    runs.set(job.jobId, (runs.get(job.jobId) ?? 0) + 1);
    // Long enough that some runs are under way when the cut comes.
    await delay(30);
    return { ok: true };
  },
});

/**
 * In the default suite (PostgreSQL) since issue 8's third pass. Causes of its earlier failures, fixed:
 * - a job `pending` with its publish recorded and no attempt, published 30.0 s after its enqueue:
 *   enqueued at the instant of the cut, the relay's claim committed but its answer was lost with
 *   the connection, and the request waited out the whole lease (the relay now gives back the claims
 *   it never heard answered, outbox.ts `claim_token`);
 * - no delivery at all while cut (no worker 5xx): the delayed jobs meant to arrive during the cut
 *   were themselves caught by it before their publish (they are now published before the cut);
 * - a database call that neither failed nor settled across the restore (a delivery hung 20 s, a
 *   relay round for good). The worker bounds the recording of an attempt's start (503 with
 *   Retry-After) and the relay gives up on a round past its lease (5 s here); `stalledCalls` in the
 *   figures counts how often either bound was needed. In issue 8's third pass it was 0 in every
 *   run, and a cut-and-restore loop on the patched postgres.js (14 cuts, ~70k statements, plain,
 *   pipelined and FOR UPDATE transactions) left no statement unsettled, where the same loop on the
 *   unpatched copy crashed on its first cut (nextWrite on a null socket): the hang is not seen
 *   since the driver's patch, and the bounds stay as a net (test/db/postgres-driver.test.ts pins it,
 *   and the unhandled rejection of a type fetch lost with its connection that the same loop found).
 * The /health recovery bound failed once (3.5 s) before; in the third pass it took 82–300 ms,
 * with a CPU hog (`node -e 'for(;;){}'`) beside the test and two other engineers' runs on the two
 * cores (load 3–8). A failing run prints what an unfinished job went through (the stand-in's log
 * included) and the /health timeline after the restore.
 */
const enabled = databaseKind === 'postgres';

describe.skipIf(!enabled)('a 4 s database cut under a steady delivery load', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let through: ProxiedDatabase;
  let t: TestApp;
  beforeAll(async () => {
    database = await createTestDatabase();
    through = await openThroughProxy(database.target as { url: string });
    proxy = through.proxy;
    t = await startTestApp(through.handle, {
      jobs: [cutLoadJob],
      // The worker answers 503 with Retry-After: 5 while the database is away; scaled by 0.2 the
      // stand-in redelivers after 1 s, so 10 retries span the cut with room to spare.
      // A 5 s claim lease: a relay round stalled on a database call that never answers is given up
      // on within the 30 s the test waits (relay.ts, boundedRound).
      env: { JOBSCOPE_READ_KEYS: READ_KEY, QSTASH_RETRY_DELAY_FACTOR: '0.2', JOBSCOPE_PUBLISH_LEASE_SECONDS: '5' },
    });
  });
  afterAll(async () => {
    await proxy?.restore();
    await t?.close();
    await through?.close();
    await database?.destroy();
  });

  it('loses no job, runs none twice, answers 5xx and a 503 /health while cut, and the subscriber misses no event', async () => {
    const started = Date.now();
    const sse = createSSEClient({ url: `${t.baseUrl}/graphql`, headers: { authorization: `Bearer ${READ_KEY}` }, retryAttempts: 0 });
    const received: string[] = [];
    const subscriptionErrors: unknown[] = [];
    const results = sse.iterate<{ jobEvents: { type: string; jobId: string } }>({
      query: 'subscription ($jobType: String) { jobEvents(jobType: $jobType) { type jobId } }',
      variables: { jobType: JOB_TYPE },
    });
    const reading = (async () => {
      for await (const result of results) {
        if (result.errors) subscriptionErrors.push(result.errors);
        if (result.data) received.push(`${result.data.jobEvents.type.toLowerCase()}:${result.data.jobEvents.jobId}`);
      }
    })();
    // The subscription is live once it hears an event: the first job's.
    const first = await t.app.jobs.enqueue(JOB_TYPE, { n: 0 });
    await expect.poll(() => received.length, { timeout: 10_000 }).toBeGreaterThan(0);

    let loading = true;
    let probing = true;
    try {
      const enqueued = [first.jobId];
      let refusedEnqueues = 0;
      const load = (async () => {
        for (let n = 1; loading; n++) {
          try {
            enqueued.push((await t.app.jobs.enqueue(JOB_TYPE, { n })).jobId);
          } catch {
            refusedEnqueues++;
          }
          await delay(40);
        }
      })();
      const health: { at: number; status: number; sent: number }[] = [];
      const probe = (async () => {
        while (probing) {
          const sent = Date.now();
          const status = await fetch(`${t.baseUrl}/health`, { signal: AbortSignal.timeout(2_000) }).then(
            (r) => r.status,
            () => 0,
          );
          health.push({ at: Date.now(), status, sent });
          await delay(100);
        }
      })();

      let cutAt = 0;
      let restoredAt = 0;
      try {
        await delay(LOAD_BEFORE_MS);
        // Due 3 s after their enqueue, inside the cut: deliveries that arrive while it lasts, however
        // the load fell. Cut once QStash has them: a publish caught by the cut would wait for the
        // restore and deliver nothing while cut (one run in eight did).
        // A batch whose publishing took so long that it falls due before the cut starts is replaced
        // by a fresh one (one CI run on a busy machine had no 5xx at all: its batch was delivered
        // before the cut); the earlier batch just runs as part of the load.
        for (let batch = 0; ; batch++) {
          const delayed: string[] = [];
          const batchAt = Date.now();
          for (let n = 0; n < 5; n++) delayed.push((await t.app.jobs.enqueue(JOB_TYPE, { n: -1 - 10 * batch - n }, { delaySeconds: 3 })).jobId);
          enqueued.push(...delayed);
          await expect
            .poll(
              async () =>
                (
                  await database.handle.query<{ n: string }>(`SELECT count(*)::text AS n FROM job_publishes WHERE state = 'published' AND job_id = ANY($1::text[])`, [
                    delayed,
                  ])
                )[0]!.n,
              // A precondition, not the property under test: publishing 5 jobs took well under 1 s in
              // every passing run; one run at load 8 (a CPU hog and two other engineers' tests on the
              // two cores) had none published after 10 s. What the relay did then is printed below.
              { timeout: 20_000, interval: 20 },
            )
            .toBe('5')
            .catch(async (error: unknown) => {
              const rows = await database.handle.query(`SELECT * FROM job_publishes WHERE job_id = ANY($1::text[])`, [delayed]);
              const relay = t.logs.filter((l) => /relay|[Pp]ublish|qstash/.test(l.message) && !/enqueued successfully/.test(l.message)).slice(-30);
              console.error('[cut-under-load] delayed jobs not published', JSON.stringify({ now: new Date(), rows, relay }, null, 1));
              throw error;
            });
          if (Date.now() - batchAt < 2_000 || batch === 4) break;
        }
        cutAt = Date.now();
        await proxy.cut('refuse');
        await delay(CUT_MS);
        restoredAt = Date.now();
        await proxy.restore();
        await delay(LOAD_AFTER_MS);
      } finally {
        loading = false;
        await load;
      }
      // Every job the database holds ends final (those the enqueues were told of, and any whose commit's answer was lost).
      const unfinished = async () =>
        (
          await database.handle.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM job_executions WHERE job_type = $1 AND status::text <> ALL($2::text[])`,
            [JOB_TYPE, [...FINAL_STATUSES]],
          )
        )[0]!.n;
      await expect
        .poll(unfinished, { timeout: 30_000, interval: 200 })
        .toBe('0')
        .catch(async (error: unknown) => {
          // What an unfinished job went through, to tell which part lost it.
          const stuck = await database.handle.query(
            `SELECT j.job_id, j.status, j.message_id, p.state, p.attempts AS publish_attempts, p.last_error, p.next_attempt_at,
                    p.published_at, (SELECT json_agg(a ORDER BY a.id) FROM job_attempts a WHERE a.job_id = j.job_id) AS attempt_rows
               FROM job_executions j LEFT JOIN job_publishes p USING (job_id)
              WHERE j.job_type = $1 AND j.status::text <> ALL($2::text[])`,
            [JOB_TYPE, [...FINAL_STATUSES]],
          );
          const ids = new Set(stuck.map((row) => String(row.job_id)));
          const logs = t.logs.filter((l) => ids.has(String(l.jobId)) || [...ids].some((id) => JSON.stringify(l).includes(id)));
          const messageIds = stuck.map((row) => row.message_id).filter((id): id is string => typeof id === 'string');
          const standIn = new Client({ baseUrl: `${t.baseUrl}/qstash`, token: DEV_QSTASH_TOKEN, enableTelemetry: false });
          const qstashLogs = messageIds.length > 0 ? (await standIn.logs({ messageIds })).logs.map((l) => ({ time: l.time, state: l.state, error: l.error })) : [];
          console.error('[cut-under-load] unfinished', JSON.stringify({ stuck, logs, qstashLogs }, null, 1));
          throw error;
        });
      probing = false;
      await probe;

      const jobs = await database.handle.query<{ job_id: string; status: string }>(`SELECT job_id, status FROM job_executions WHERE job_type = $1`, [JOB_TYPE]);
      const stored = new Set(jobs.map((j) => j.job_id));
      // No job lost: every enqueue that was answered is in the table, completed.
      expect(enqueued.filter((id) => !stored.has(id))).toEqual([]);
      expect(jobs.filter((j) => j.status !== 'completed')).toEqual([]);
      // None ran twice, and every one ran.
      const twice = [...runs].filter(([, n]) => n > 1);
      expect(twice).toEqual([]);
      expect(jobs.filter((j) => runs.get(j.job_id) !== 1)).toEqual([]);

      // The worker answered 5xx while cut (the stand-in's log of each failed attempt).
      const qstash = new Client({ baseUrl: `${t.baseUrl}/qstash`, token: DEV_QSTASH_TOKEN, enableTelemetry: false });
      const failedAttempts: { time: number; status: number | undefined; error: string | undefined }[] = [];
      for (let cursor: string | undefined, page = 0; page < 100; page++) {
        const answer = await qstash.logs({ filter: { state: 'ERROR' }, ...(cursor ? { cursor } : {}) });
        for (const log of answer.logs) failedAttempts.push({ time: log.time, status: (log as { responseStatus?: number }).responseStatus, error: log.error });
        cursor = answer.cursor;
        if (!cursor) break;
      }
      const fiveHundreds = failedAttempts.filter((a) => a.status !== undefined && a.status >= 500);
      expect(fiveHundreds.length).toBeGreaterThan(0);
      // No 4xx spent a retry (a 409 for an attempt whose answer had already gone, say).
      expect(failedAttempts.filter((a) => a.status !== undefined && a.status < 500)).toEqual([]);

      // /health: 503 throughout the cut (after the first probe that began before it), 200 soon after.
      const duringCut = health.filter((h) => h.at > cutAt + 300 && h.at < restoredAt);
      expect(duringCut.length).toBeGreaterThan(5);
      expect(duringCut.filter((h) => h.status !== 503)).toEqual([]);
      const healthyAgain = health.find((h) => h.at > restoredAt && h.status === 200);
      expect(healthyAgain).toBeDefined();
      const recoveryMs = healthyAgain!.at - restoredAt;
      if (recoveryMs >= HEALTHY_WITHIN_MS)
        console.error('[cut-under-load] health after restore', JSON.stringify(health.filter((h) => h.at > restoredAt - 500).map((h) => ({ sent: h.sent - restoredAt, at: h.at - restoredAt, status: h.status }))));
      expect(recoveryMs).toBeLessThan(HEALTHY_WITHIN_MS);

      // The subscriber: every event the database recorded for these jobs, once each.
      const recordedEvents = await database.handle.query<{ type: string; job_id: string }>(
        `SELECT type, job_id FROM job_events WHERE job_type = $1 ORDER BY id`,
        [JOB_TYPE],
      );
      const recorded = recordedEvents.map((e) => `${e.type}:${e.job_id}`);
      await expect.poll(() => received.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(recorded.length);
      // As multisets: a job can record the same kind of event twice (`started` again after a takeover).
      const tally = (events: string[]) => events.reduce((m, e) => m.set(e, (m.get(e) ?? 0) + 1), new Map<string, number>());
      const want = tally(recorded);
      const got = tally(received);
      const missed = [...want].filter(([e, n]) => (got.get(e) ?? 0) < n).map(([e]) => e);
      const duplicated = [...got].filter(([e, n]) => n > (want.get(e) ?? 0)).map(([e]) => e);
      expect({ missed, duplicated, extra: received.length - recorded.length }).toEqual({ missed: [], duplicated: [], extra: 0 });
      expect(subscriptionErrors).toEqual([]);

      // The figures, for the note.
      console.info('[cut-under-load]', {
        jobs: jobs.length,
        refusedEnqueues,
        worker5xx: fiveHundreds.length,
        attemptsWithoutAnswer: failedAttempts.filter((a) => a.status === undefined).map((a) => a.error),
        healthyAfterRestoreMs: recoveryMs,
        eventsRecorded: recorded.length,
        eventsReceived: received.length,
        missed: missed.length,
        // Database calls that neither answered nor failed within their bound (worker, relay).
        stalledCalls: t.logs.filter((l) => /no answer from the database within|did not settle within the claim lease/.test(JSON.stringify(l))).length,
        durationMs: Date.now() - started,
      });
    } finally {
      probing = false;
      loading = false;
      await results.return?.();
      await reading.catch(() => {});
      sse.dispose();
    }
  }, 90_000);
});
