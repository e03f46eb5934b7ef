import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { jobExecutions } from '../src/db/schema.js';
import { useTestApp } from './helpers/app.js';
import { databaseKind } from './helpers/db.js';
import { deliverSigned } from './helpers/deliveries.js';
import { Fuzz, mulberry32 } from './helpers/fuzz.js';

/** Replays a failure: FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const GRAPHQL_CASES = 1500;
const DELIVERY_CASES = 1000;

const OPERATIONS = [
  'query($first: Int, $after: String, $filter: JobExecutionFilter) { jobExecutions(first: $first, after: $after, filter: $filter) { totalCount nodes { jobId status } } }',
  'mutation($input: EnqueueJobInput!) { enqueueJob(input: $input) { jobId status } }',
  'query($jobType: String, $since: DateTime, $until: DateTime) { jobStats(jobType: $jobType, since: $since, until: $until) { count } }',
  'query($id: ID!) { jobExecution(jobId: $id) { jobId attempts { attempt } } }',
  'mutation($id: ID!) { retryJob(jobId: $id) { jobId } }',
  'mutation($id: ID!) { cancelJob(jobId: $id) { jobId } }',
  'query($bucket: ThroughputBucketSize) { jobThroughput(bucket: $bucket) { bucketStart } }',
  'query($olderThanMinutes: Int) { stuckJobs(olderThanMinutes: $olderThanMinutes) { jobId } }',
];
const VARIABLE_NAMES = ['first', 'after', 'filter', 'input', 'jobType', 'since', 'until', 'id', 'bucket', 'olderThanMinutes'];
const FILTER_KEYS = ['status', 'jobType', 'userId', 'organizationId', 'createdAfter', 'createdBefore', 'search', 'payloadContains'];
const INPUT_KEYS = ['jobType', 'payload', 'metadata', 'delaySeconds'];

/** Runs `cases` through `run`, `width` at a time. */
async function pool(cases: number, width: number, run: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < cases) await run(next++);
  }));
}

describe(`fuzzing on ${databaseKind} (seed ${SEED})`, () => {
  const fixture = useTestApp();

  it(`${GRAPHQL_CASES} GraphQL requests with random variables: no 5xx, every error coded`, async () => {
    const fuzz = new Fuzz(mulberry32(SEED));
    const cases = Array.from({ length: GRAPHQL_CASES }, () => {
      const variables: Record<string, unknown> = {};
      for (const name of VARIABLE_NAMES) {
        if (!fuzz.chance(0.5)) continue;
        if (name === 'filter') variables[name] = fuzz.chance(0.8) ? fuzz.object(1, FILTER_KEYS) : fuzz.value();
        else if (name === 'input') {
          variables[name] = fuzz.chance(0.8)
            ? { jobType: fuzz.pick(['send-email', 'generate-report', fuzz.string()]), payload: fuzz.chance(0.3) ? { to: 'ada@example.com', subject: fuzz.string(), text: 't' } : fuzz.value(), ...fuzz.object(1, INPUT_KEYS) }
            : fuzz.value();
        } else variables[name] = fuzz.value();
      }
      return { query: fuzz.pick(OPERATIONS), variables, get: fuzz.chance(0.1), malformed: fuzz.chance(0.5) };
    });
    const failures: unknown[] = [];
    await pool(cases.length, 4, async (i) => {
      const { query, variables, get, malformed } = cases[i]!;
      const res = get
        ? await fetch(`${fixture.app.baseUrl}/graphql?${new URLSearchParams({ query, variables: malformed ? JSON.stringify(variables).slice(0, -1) : JSON.stringify(variables) })}`, { headers: { accept: 'application/json' } })
        : await fetch(`${fixture.app.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
      const uncoded = (body.errors ?? []).filter((e) => typeof e.extensions?.code !== 'string' || e.extensions.code === 'INTERNAL_SERVER_ERROR');
      if (res.status >= 500 || uncoded.length > 0) failures.push({ case: i, status: res.status, query, variables, errors: body.errors });
    });
    expect(failures.slice(0, 3)).toEqual([]);
  });

  it(`${DELIVERY_CASES} signed deliveries with random bodies: no 5xx, every invalid one answered 489 and recorded`, async () => {
    const fuzz = new Fuzz(mulberry32(SEED + 1));
    const bodies = Array.from({ length: DELIVERY_CASES }, (_, i) => {
      const jobId = fuzz.chance(0.9) ? `fuzz-${i}-${randomUUID()}${fuzz.chance(0.2) ? fuzz.string() : ''}` : fuzz.value();
      const envelope: Record<string, unknown> = {
        jobId,
        type: fuzz.chance(0.85) ? 'send-email' : fuzz.value(),
        payload: fuzz.chance(0.4) ? { to: fuzz.pick(['ada@example.com', fuzz.string()]), subject: fuzz.string(), text: fuzz.string() } : fuzz.value(),
        ...(fuzz.chance(0.5) ? { metadata: fuzz.chance(0.7) ? fuzz.object(1, ['userId', 'organizationId']) : fuzz.value() } : {}),
      };
      const text = JSON.stringify(fuzz.chance(0.9) ? envelope : fuzz.value());
      return fuzz.chance(0.05) ? text.slice(0, fuzz.int(text.length)) + fuzz.string() : text;
    });
    const failures: unknown[] = [];
    const rejected: string[] = [];
    await pool(bodies.length, 4, async (i) => {
      const { res, json } = await deliverSigned(fixture.app.baseUrl, bodies[i]!);
      if (res.status >= 500 || ![200, 489].includes(res.status)) failures.push({ case: i, status: res.status, body: bodies[i], answer: json });
      else if (res.status === 489) {
        if (res.headers.get('upstash-nonretryable-error') !== 'true' || typeof json.jobId !== 'string') failures.push({ case: i, answer: json });
        else rejected.push(json.jobId);
      }
    });
    expect(failures.slice(0, 3)).toEqual([]);
    expect(rejected.length).toBeGreaterThan(DELIVERY_CASES / 2);
    const rows = await fixture.database.handle.db
      .select({ jobId: jobExecutions.jobId, status: jobExecutions.status })
      .from(jobExecutions)
      .where(inArray(jobExecutions.jobId, rejected));
    expect(rows.filter((r) => r.status === 'failed').length).toBe(new Set(rejected).size);
  });
});
