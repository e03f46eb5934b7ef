import { createClient as createWSClient } from 'graphql-ws';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { bulkOperations } from '../../src/db/schema.js';
import { useTestApp } from '../helpers/app.js';
import { databaseKind } from '../helpers/db.js';
import { generateExecutions, insertExecutions } from '../helpers/factories.js';
import { errorCodes, graphql, graphqlData } from '../helpers/graphql.js';

const NOW = new Date('2026-03-02T12:00:00Z');
const SINCE = '2026-03-02T04:30:00.000Z';
const UNTIL = '2026-03-02T10:15:00.000Z';

type Stat = { jobType: string; status: string; count: number; avgDurationSeconds: number | null };
type Bucket = { bucketStart: string; enqueued: number; completed: number; failed: number };
type JobEvent = { type: string; jobId: string; status: string };

describe(`JobFilter through GraphQL on ${databaseKind}`, () => {
  const t = useTestApp();
  const query = <T>(document: string, variables: Record<string, unknown> = {}) => graphqlData<T, Record<string, unknown>>(t.app.baseUrl, document, { variables });

  it('jobStats and jobThroughput: the deprecated arguments answer what the filter answers', async () => {
    await insertExecutions(t.database.handle.db, generateExecutions({ count: 400, now: NOW, spanMinutes: 600, prefix: 'gql' }));
    const stats = await query<{ old: Stat[]; filtered: Stat[] }>(
      `query ($since: DateTime, $until: DateTime, $filter: JobFilter) {
        old: jobStats(since: $since, until: $until, jobType: "send-email") { jobType status count avgDurationSeconds }
        filtered: jobStats(filter: $filter) { jobType status count avgDurationSeconds }
      }`,
      { since: SINCE, until: UNTIL, filter: { createdAfter: SINCE, createdBefore: UNTIL, jobType: ['send-email'] } },
    );
    expect(stats.old.length).toBeGreaterThan(0);
    expect(stats.filtered).toEqual(stats.old);
    const throughput = await query<{ old: Bucket[]; filtered: Bucket[] }>(
      `query ($since: DateTime, $until: DateTime) {
        old: jobThroughput(since: $since, until: $until, jobType: "generate-report") { bucketStart enqueued completed failed }
        filtered: jobThroughput(since: $since, until: $until, filter: { jobType: ["generate-report"] }) { bucketStart enqueued completed failed }
      }`,
      { since: SINCE, until: UNTIL },
    );
    expect(throughput.old.some((b) => b.enqueued > 0)).toBe(true);
    expect(throughput.filtered).toEqual(throughput.old);
    // A field the rollups do not hold is counted from the rows: the same counts a list's totalCount gives.
    const byUser = await query<{ jobStats: Stat[]; jobExecutions: { totalCount: number } }>(
      `{ jobStats(filter: { userId: "user-3" }) { jobType status count avgDurationSeconds }
         jobExecutions(filter: { userId: "user-3" }) { totalCount } }`,
    );
    expect(byUser.jobStats.reduce((sum, s) => sum + s.count, 0)).toBe(byUser.jobExecutions.totalCount);
    expect(byUser.jobExecutions.totalCount).toBeGreaterThan(0);
  });

  it('bad filter input is BAD_USER_INPUT on every verb, never a 500, and changes nothing', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['query ($f: JobExecutionFilter) { jobExecutions(filter: $f) { totalCount } }', { f: { retryCountAtLeast: -1 } }],
      ['query ($f: JobExecutionFilter) { jobExecutions(filter: $f) { totalCount } }', { f: { createdAfter: 'not a date' } }],
      ['query ($f: JobFilter) { jobStats(filter: $f) { count } }', { f: { durationAtLeastSeconds: -3 } }],
      ['query ($f: JobFilter) { jobStats(filter: $f) { count } }', { f: { completedBefore: '2026-02-30T00:00:00Z' } }],
      ['query ($f: JobFilter) { jobThroughput(filter: $f) { enqueued } }', { f: { jobId: Array.from({ length: 1001 }, (_, i) => `j${i}`) } }],
      ['query ($f: JobFilter) { jobStats(filter: $f, jobType: "send-email") { count } }', { f: { jobType: ['send-email'] } }],
      ['query ($f: JobFilter) { jobStats(filter: $f) { count } }', { f: { status: ['LOST'] } }],
      ['mutation ($f: JobFilter!) { retryJobs(filter: $f, dryRun: false) { id } }', { f: { retryCountAtLeast: -1 } }],
      ['mutation ($f: JobFilter!) { cancelJobs(filter: $f, dryRun: false) { id } }', { f: { createdAfter: '2026-13-01T00:00:00Z' } }],
    ];
    for (const [document, variables] of cases) {
      const response = await fetch(`${t.app.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: document, variables }),
      });
      expect(response.status, document).toBeLessThan(500);
      const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
      expect(errorCodes(body), `${document} ${JSON.stringify(variables).slice(0, 80)}: ${body.errors?.[0]?.message}`).toEqual(['BAD_USER_INPUT']);
    }
    expect(await t.database.handle.db.select().from(bulkOperations)).toEqual([]);
    // The message names the field.
    const negative = await graphql(t.app.baseUrl, '{ jobExecutions(filter: { retryCountAtLeast: -1 }) { totalCount } }');
    expect(negative.errors?.[0]?.message).toMatch(/filter\.retryCountAtLeast/);
  });

  it('retryJobs takes the whole JobFilter: a dry run matches what jobExecutions lists', async () => {
    const filter = { status: ['FAILED'], retryCountAtLeast: 0, organizationId: 'org-1', completedAfter: SINCE };
    const data = await query<{ retryJobs: { matched: number; filter: unknown }; jobExecutions: { totalCount: number } }>(
      `query ($filter: JobExecutionFilter) { jobExecutions(filter: $filter) { totalCount } }`,
      { filter },
    ).then(async (list) => ({
      ...list,
      ...(await query<{ retryJobs: { matched: number; filter: unknown } }>('mutation ($filter: JobFilter!) { retryJobs(filter: $filter) { matched filter } }', { filter })),
    }));
    expect(data.jobExecutions.totalCount).toBeGreaterThan(0);
    expect(data.retryJobs.matched).toBe(data.jobExecutions.totalCount);
    expect(data.retryJobs.filter).toEqual({ status: ['failed'], retryCountAtLeast: 0, organizationId: 'org-1', completedAfter: SINCE });
  });

  it('jobEvents(filter) delivers only the events of matching jobs, judging row fields on the job; the old arguments still work', async () => {
    const subscribed = vi.spyOn(t.app.app.jobs.events, 'subscribe');
    const client = createWSClient({ url: `${t.app.baseUrl.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const collect = (query: string) => {
      const events: JobEvent[] = [];
      const errors: unknown[] = [];
      const results = client.iterate<{ jobEvents: JobEvent }>({ query });
      const done = (async () => {
        try {
          for await (const result of results) {
            if (result.errors) errors.push(result.errors);
            if (result.data) events.push(result.data.jobEvents);
          }
        } catch (error) {
          errors.push(error);
        }
      })();
      return { events, errors, stop: async () => { await results.return?.(); await done; } };
    };
    const byUser = collect('subscription { jobEvents(filter: { userId: "u-live", payloadContains: { subject: "live" } }) { type jobId status } }');
    const completedOnly = collect('subscription { jobEvents(statuses: [COMPLETED]) { type jobId status } }');
    const badFilter = collect('subscription { jobEvents(filter: { retryCountAtLeast: -2 }) { type } }');
    try {
      await vi.waitFor(() => expect(subscribed).toHaveBeenCalledTimes(2), { timeout: 5_000 });
      const enqueue = (subject: string, userId: string) =>
        query<{ enqueueJob: { jobId: string } }>(
          'mutation ($input: EnqueueJobInput!) { enqueueJob(input: $input) { jobId } }',
          { input: { jobType: 'send-email', payload: { to: 'ada@example.com', subject, text: 'hi' }, metadata: { userId } } },
        ).then((d) => d.enqueueJob.jobId);
      const other = await enqueue('live', 'u-other');
      const otherSubject = await enqueue('not live', 'u-live');
      const ours = await enqueue('live', 'u-live');
      await vi.waitFor(() => expect(byUser.events.map((e) => `${e.jobId}:${e.type}`)).toContain(`${ours}:COMPLETED`), { timeout: 15_000 });
      await vi.waitFor(() => expect(completedOnly.events.map((e) => e.jobId).sort()).toEqual([other, otherSubject, ours].sort()), { timeout: 15_000 });
      expect(byUser.events.map((e) => e.type)).toEqual(['ENQUEUED', 'STARTED', 'COMPLETED']);
      expect(new Set(byUser.events.map((e) => e.jobId))).toEqual(new Set([ours]));
      expect(completedOnly.events.every((e) => e.status === 'COMPLETED')).toBe(true);
      expect(badFilter.errors.length).toBe(1);
      expect(JSON.stringify(badFilter.errors)).toContain('BAD_USER_INPUT');
      expect(byUser.errors).toEqual([]);
    } finally {
      await byUser.stop();
      await completedOnly.stop();
      await badFilter.stop();
      await client.dispose();
    }
  });
});
