import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobExecutions, type JobExecution } from '../../src/db/schema.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { generateExecutions, insertAttempts, insertExecutions } from '../helpers/factories.js';
import { errorCodes, graphql, graphqlData } from '../helpers/graphql.js';

interface Node {
  jobId: string;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  durationSeconds: number | null;
}
interface Connection {
  totalCount?: number;
  edges: { cursor: string; node: Node }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}
type Order = { field: 'CREATED_AT' | 'STARTED_AT' | 'COMPLETED_AT' | 'DURATION'; direction: 'ASC' | 'DESC' };

const PAGE = /* GraphQL */ `
  query Page($first: Int, $after: String, $last: Int, $before: String, $orderBy: JobExecutionOrder, $filter: JobExecutionFilter) {
    jobExecutions(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter) {
      totalCount
      edges { cursor node { jobId createdAt startedAt completedAt durationSeconds } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

const ORDERS: Order[] = (['CREATED_AT', 'STARTED_AT', 'COMPLETED_AT', 'DURATION'] as const).flatMap((field) =>
  (['ASC', 'DESC'] as const).map((direction) => ({ field, direction })),
);

function keyOf(node: Node, field: Order['field']): number | null {
  switch (field) {
    case 'CREATED_AT':
      return Date.parse(node.createdAt);
    case 'STARTED_AT':
      return node.startedAt === null ? null : Date.parse(node.startedAt);
    case 'COMPLETED_AT':
      return node.completedAt === null ? null : Date.parse(node.completedAt);
    case 'DURATION':
      return node.durationSeconds;
  }
}

/** Values never go backwards for the direction, and rows without a value come last. */
function expectOrdered(nodes: Node[], order: Order): void {
  const keys = nodes.map((n) => keyOf(n, order.field));
  const firstNull = keys.indexOf(null);
  if (firstNull >= 0) expect(keys.slice(firstNull).every((k) => k === null)).toBe(true);
  const values = (firstNull >= 0 ? keys.slice(0, firstNull) : keys) as number[];
  for (let i = 1; i < values.length; i++) {
    if (order.direction === 'ASC') expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]!);
    else expect(values[i]).toBeLessThanOrEqual(values[i - 1]!);
  }
}

describe(`jobExecutions on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;
  let statements: string[] | undefined;

  const page = async (variables: Record<string, unknown>) =>
    (await graphqlData<{ jobExecutions: Connection }, Record<string, unknown>>(t.baseUrl, PAGE, { variables })).jobExecutions;
  const allRows = () => database.handle.db.select().from(jobExecutions);

  beforeAll(async () => {
    // The outbox relay's poll (job_publishes) and the bulk runner's (bulk_operations) run on their
    // own clocks: not the operation's statements.
    const background = (query: string) => query.includes('"job_publishes"') || query.includes('"bulk_operations"');
    database = await createTestDatabase({ logger: { logQuery: (query) => !background(query) && statements?.push(query) } });
    t = await startTestApp(database.handle);
    await insertExecutions(database.handle.db, generateExecutions({ count: 60, seed: 7 }));
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  it.each(ORDERS)('pages forward by $field $direction while rows arrive, skipping and repeating none', async (order) => {
    const before = new Set((await allRows()).map((r) => r.jobId));
    const seen: Node[] = [];
    let after: string | null = null;
    for (let n = 0; ; n++) {
      const conn = await page({ first: 15, after, orderBy: order });
      seen.push(...conn.edges.map((e) => e.node));
      expect(conn.pageInfo.hasPreviousPage).toBe(after !== null);
      // New rows land everywhere in the ordering, including at and around the cursor.
      const prefix = `ins-${order.field}-${order.direction}-${n}`;
      await insertExecutions(database.handle.db, generateExecutions({ count: 2, seed: n + 100, prefix }));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    const ids = seen.map((n) => n.jobId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...before].filter((id) => !ids.includes(id))).toEqual([]);
    expectOrdered(seen, order);
    if (order.field !== 'CREATED_AT') expect(seen.at(-1)![order.field === 'DURATION' ? 'durationSeconds' : order.field === 'STARTED_AT' ? 'startedAt' : 'completedAt']).toBeNull();
  });

  it.each(ORDERS)('pages backward by $field $direction to the same sequence', async (order) => {
    const forward: string[] = [];
    let after: string | null = null;
    do {
      const conn: Connection = await page({ first: 500, after, orderBy: order });
      forward.push(...conn.edges.map((e) => e.node.jobId));
      after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
    } while (after);

    const backward: string[][] = [];
    let before: string | null = null;
    do {
      const conn: Connection = await page({ last: 25, before, orderBy: order });
      backward.unshift(conn.edges.map((e) => e.node.jobId));
      expect(conn.pageInfo.hasNextPage).toBe(before !== null);
      before = conn.pageInfo.hasPreviousPage ? conn.pageInfo.startCursor : null;
    } while (before);
    expect(backward.flat()).toEqual(forward);
  });

  it('orders and pages rows apart by microseconds within one millisecond', async () => {
    // Ids run against the microseconds, so a cursor rounded to milliseconds would reorder or skip them.
    const values = [1, 2, 3, 4, 5].map(
      (n) => `('micro-${6 - n}', 'micro', '{"jobId":"x","type":"micro","payload":{},"metadata":{}}', '2026-01-02T03:04:05.1230${n}0Z')`,
    );
    await database.handle.query(`INSERT INTO job_executions (job_id, job_type, payload, created_at) VALUES ${values.join(', ')}`);
    for (const direction of ['ASC', 'DESC'] as const) {
      const ids: string[] = [];
      let after: string | null = null;
      do {
        const conn: Connection = await page({ first: 2, after, orderBy: { field: 'CREATED_AT', direction }, filter: { jobType: ['micro'] } });
        ids.push(...conn.edges.map((e) => e.node.jobId));
        after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
      } while (after);
      const ascending = ['micro-5', 'micro-4', 'micro-3', 'micro-2', 'micro-1'];
      expect(ids).toEqual(direction === 'ASC' ? ascending : [...ascending].reverse());
    }
  });

  it('defaults to newest first with ties broken by job id (descending), 50 per page', async () => {
    // 60 rows, three per creation time.
    const base = Date.parse('2026-02-01T00:00:00.000Z');
    const rows = generateExecutions({ count: 60, seed: 5, prefix: 'tie' }).map((r, i) => ({
      ...r,
      jobType: 'tied',
      createdAt: new Date(base + Math.floor(i / 3) * 1000),
    }));
    await insertExecutions(database.handle.db, rows);
    const conn = await page({ filter: { jobType: ['tied'] } });
    expect(conn.totalCount).toBe(60);
    expect(conn.pageInfo.hasNextPage).toBe(true);
    // Zero-padded ASCII ids sort alike in JavaScript and in the database's collation.
    const expected = [...rows]
      .sort((a, b) => b.createdAt!.getTime() - a.createdAt!.getTime() || (a.jobId < b.jobId ? 1 : -1))
      .slice(0, 50)
      .map((r) => r.jobId);
    expect(conn.edges.map((e) => e.node.jobId)).toEqual(expected);
  });

  describe('filters, one by one', () => {
    const ids = async (filter: Record<string, unknown>) => {
      const conn = await page({ first: 500, filter });
      expect(conn.totalCount).toBe(conn.edges.length);
      return conn.edges.map((e) => e.node.jobId).sort();
    };
    const expectIds = async (filter: Record<string, unknown>, predicate: (row: JobExecution) => boolean) => {
      const expected = (await allRows()).filter(predicate).map((r) => r.jobId).sort();
      expect(expected.length).toBeGreaterThan(0);
      expect(await ids(filter)).toEqual(expected);
    };

    it('status', () => expectIds({ status: ['FAILED', 'CANCELLED'] }, (r) => r.status === 'failed' || r.status === 'cancelled'));
    it('jobType', () => expectIds({ jobType: ['generate-report'] }, (r) => r.jobType === 'generate-report'));
    it('createdAfter (inclusive) and createdBefore (exclusive)', async () => {
      const rows = (await allRows()).filter((r) => r.jobId.startsWith('gen-')).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
      const boundary = rows[40]!.createdAt;
      await expectIds({ createdAfter: boundary.toISOString() }, (r) => r.createdAt >= boundary);
      await expectIds({ createdBefore: boundary.toISOString() }, (r) => r.createdAt < boundary);
    });
    it('errorContains: case-insensitive, % and _ taken literally', async () => {
      await expectIds({ errorContains: 'smtp' }, (r) => r.error?.toLowerCase().includes('smtp') ?? false);
      await expectIds({ errorContains: '100%' }, (r) => r.error?.includes('100%') ?? false);
      await expectIds({ errorContains: '_' }, (r) => r.error?.includes('_') ?? false);
    });
    it('userId', () => expectIds({ userId: 'user-3' }, (r) => r.userId === 'user-3'));
    it('organizationId', () => expectIds({ organizationId: 'org-1' }, (r) => r.organizationId === 'org-1'));
    it('payloadContains (jsonb containment on the job payload)', () =>
      expectIds({ payloadContains: { tag: 'even', nested: { bucket: 2 } } }, (r) => {
        const p = r.payload.payload as { tag?: string; nested?: { bucket?: number } };
        return p.tag === 'even' && p.nested?.bucket === 2;
      }));
    it('payloadContains with a variable inside the literal (compiled queries take the graphql-js path)', async () => {
      const expected = (await allRows()).filter((r) => (r.payload.payload as { tag?: string }).tag === 'even').map((r) => r.jobId).sort();
      const data = await graphqlData<{ jobExecutions: { nodes: { jobId: string }[] } }, { tag: string }>(
        t.baseUrl,
        /* GraphQL */ `query ($tag: JSON) { jobExecutions(first: 500, filter: { payloadContains: { tag: $tag } }) { nodes { jobId } } }`,
        { variables: { tag: 'even' } },
      );
      expect(expected.length).toBeGreaterThan(0);
      expect(data.jobExecutions.nodes.map((n) => n.jobId).sort()).toEqual(expected);
    });
    it('the same statement with other values answers for those values (prepared once per shape)', async () => {
      await expectIds({ status: ['FAILED'] }, (r) => r.status === 'failed');
      await expectIds({ status: ['COMPLETED', 'CANCELLED'] }, (r) => r.status === 'completed' || r.status === 'cancelled');
      await expectIds({ status: ['FAILED'] }, (r) => r.status === 'failed');
    });
    it('combined', () =>
      expectIds(
        { status: ['COMPLETED'], jobType: ['send-email'], organizationId: 'org-0' },
        (r) => r.status === 'completed' && r.jobType === 'send-email' && r.organizationId === 'org-0',
      ));
  });

  it('rejects oversized pages, both directions at once and foreign cursors with BAD_USER_INPUT', async () => {
    const conn = await page({ first: 1 });
    const cursor = conn.edges[0]!.cursor;
    const cases: Record<string, unknown>[] = [
      { first: 501 },
      { last: 501 },
      { first: -1 },
      { first: 1, last: 1 },
      { first: 1, after: 'not-a-cursor' },
      { first: 1, after: cursor, orderBy: { field: 'DURATION', direction: 'DESC' } },
      { first: 1, after: Buffer.from(JSON.stringify(['createdAt', 'desc', "x'; DROP TABLE job_executions; --", 'a'])).toString('base64url') },
    ];
    for (const variables of cases) {
      const response = await graphql(t.baseUrl, PAGE, { variables });
      expect(errorCodes(response), JSON.stringify(variables)).toEqual(['BAD_USER_INPUT']);
    }
    expect((await page({ first: 500 })).edges).toHaveLength(500 > conn.totalCount! ? conn.totalCount! : 500);
  });

  it('jobExecution(jobId) returns every field, attempts oldest first', async () => {
    const [row] = generateExecutions({ count: 1, seed: 3, prefix: 'one' });
    Object.assign(row!, {
      status: 'completed',
      error: null,
      messageId: 'msg-0',
      result: { sent: true },
      maxRetries: 4,
      createdAt: new Date('2026-03-01T10:00:00.000Z'),
      startedAt: new Date('2026-03-01T10:00:02.500Z'),
      completedAt: new Date('2026-03-01T10:00:07.750Z'),
    });
    await insertExecutions(database.handle.db, [row!]);
    await insertAttempts(database.handle.db, [row!.jobId]);
    const data = await graphqlData<{ jobExecution: Record<string, unknown>; missing: unknown }, Record<string, unknown>>(
      t.baseUrl,
      /* GraphQL */ `
        query One($jobId: ID!) {
          jobExecution(jobId: $jobId) {
            jobId jobType status retryCount maxRetries payload metadata result error messageId userId organizationId
            createdAt startedAt completedAt updatedAt durationSeconds queueWaitSeconds
            attempts { attempt messageId startedAt finishedAt durationSeconds httpStatus error }
          }
          missing: jobExecution(jobId: "no-such-job") { jobId }
        }
      `,
      { variables: { jobId: row!.jobId } },
    );
    expect(data.missing).toBeNull();
    expect(data.jobExecution).toMatchObject({
      jobId: row!.jobId,
      jobType: row!.jobType,
      status: 'COMPLETED',
      retryCount: 0,
      maxRetries: 4,
      payload: row!.payload.payload,
      metadata: row!.payload.metadata,
      result: { sent: true },
      error: null,
      messageId: 'msg-0',
      userId: row!.userId,
      organizationId: row!.organizationId,
      createdAt: '2026-03-01T10:00:00.000Z',
      startedAt: '2026-03-01T10:00:02.500Z',
      completedAt: '2026-03-01T10:00:07.750Z',
      updatedAt: expect.any(String),
      durationSeconds: 5.25,
      queueWaitSeconds: 2.5,
    });
    const attempts = data.jobExecution.attempts as Record<string, unknown>[];
    expect(attempts).toEqual([
      { attempt: 0, messageId: `msg-${row!.jobId}`, startedAt: expect.any(String), finishedAt: expect.any(String), durationSeconds: 1.5, httpStatus: 500, error: 'first try' },
      { attempt: 1, messageId: `msg-${row!.jobId}`, startedAt: expect.any(String), finishedAt: expect.any(String), durationSeconds: 0.25, httpStatus: 200, error: null },
    ]);
  });

  it('lists 50 executions with their attempts in a fixed number of SQL statements (no N+1)', async () => {
    const rows = generateExecutions({ count: 50, seed: 11, prefix: 'nplus' }).map((r) => ({ ...r, jobType: 'n-plus-one' }));
    await insertExecutions(database.handle.db, rows);
    await insertAttempts(database.handle.db, rows.map((r) => r.jobId));
    statements = [];
    const data = await graphqlData<{ jobExecutions: { totalCount: number; nodes: { jobId: string; attempts: { attempt: number }[] }[] } }, Record<string, unknown>>(
      t.baseUrl,
      /* GraphQL */ `{
        jobExecutions(first: 50, filter: { jobType: ["n-plus-one"] }) {
          totalCount
          nodes { jobId status attempts { attempt durationSeconds } }
          edges { node { jobId attempts { attempt httpStatus } } }
        }
      }`,
    );
    const executed = statements;
    statements = undefined;
    expect(data.jobExecutions.nodes).toHaveLength(50);
    expect(data.jobExecutions.nodes.every((n) => n.attempts.map((a) => a.attempt).join() === '0,1')).toBe(true);
    // The page with all 50 jobs' attempts in one statement, and its count.
    expect(executed).toHaveLength(2);
    expect(executed.filter((s) => s.includes('job_attempts'))).toHaveLength(1);
    // Only the columns the operation reads: no payload or result JSON for a list of statuses.
    const page = executed.find((s) => s.includes('job_attempts'))!;
    expect(page).not.toMatch(/"payload"|"result"/);
  });

  it('answers a list from one read of each row: nothing is loaded a second time', async () => {
    const rows = generateExecutions({ count: 5, seed: 12, prefix: 'oneread' }).map((r) => ({ ...r, jobType: 'one-read' }));
    await insertExecutions(database.handle.db, rows);
    statements = [];
    const data = await graphqlData<{ jobExecutions: { nodes: { jobId: string; startedAt: string | null; completedAt: string | null; durationSeconds: number | null }[] } }, Record<string, unknown>>(
      t.baseUrl,
      /* GraphQL */ `{ jobExecutions(filter: { jobType: ["one-read"] }) { nodes { jobId status startedAt completedAt durationSeconds queueWaitSeconds payload metadata } } }`,
    );
    const executed = statements;
    statements = undefined;
    expect(executed).toHaveLength(1);
    for (const node of data.jobExecutions.nodes) {
      const expected = node.startedAt && node.completedAt ? (Date.parse(node.completedAt) - Date.parse(node.startedAt)) / 1000 : null;
      expect(node.durationSeconds).toBe(expected);
    }
  });

  it('reads only the columns of the fields a list selects, and each field alone gives what a full read gives', async () => {
    const rows = generateExecutions({ count: 6, seed: 13, prefix: 'narrow' }).map((r) => ({ ...r, jobType: 'narrow' }));
    await insertExecutions(database.handle.db, rows);
    const fields = [
      'jobId', 'jobType', 'status', 'retryCount', 'maxRetries', 'error', 'messageId', 'userId', 'organizationId',
      'createdAt', 'startedAt', 'completedAt', 'updatedAt', 'durationSeconds', 'queueWaitSeconds', 'payload', 'metadata', 'result',
    ];
    const list = async (selection: string, fragments = '') =>
      (
        await graphqlData<{ jobExecutions: { nodes: Record<string, unknown>[] } }, Record<string, unknown>>(
          t.baseUrl,
          `{ jobExecutions(filter: { jobType: ["narrow"] }, orderBy: { field: CREATED_AT, direction: ASC }) { nodes { ${selection} } } } ${fragments}`,
        )
      ).jobExecutions.nodes;
    const full = await list(fields.join(' '));
    expect(full).toHaveLength(6);
    for (const field of fields) {
      statements = [];
      const alone = await list(field);
      const [statement] = statements;
      statements = undefined;
      expect(alone, field).toEqual(full.map((node) => ({ [field]: node[field] })));
      // The list statement names the job id (cursors, relations) and this field's columns only.
      const selected = [...statement!.matchAll(/"d0"\."(\w+)" as "/g)].map((m) => m[1]);
      expect(selected.length, `${field}: ${selected.join()}`).toBeLessThanOrEqual(field === 'durationSeconds' || field === 'queueWaitSeconds' ? 3 : 2);
    }
    // Through an inline fragment, a named one and an alias, on edges too, the same values.
    const viaFragments = await graphqlData<{ jobExecutions: { edges: { node: Record<string, unknown> }[] } }, Record<string, unknown>>(
      t.baseUrl,
      `{ jobExecutions(filter: { jobType: ["narrow"] }, orderBy: { field: CREATED_AT, direction: ASC }) {
          edges { cursor node { ... on JobExecution { jobType } ...Times took: durationSeconds } } } }
       fragment Times on JobExecution { startedAt completedAt }`,
    );
    expect(viaFragments.jobExecutions.edges.map((e) => e.node)).toEqual(
      full.map((n) => ({ jobType: n.jobType, startedAt: n.startedAt, completedAt: n.completedAt, took: n.durationSeconds })),
    );
  });

  it('reads only the attempt columns a list selects, each attempt field alone as a full read gives it', async () => {
    const rows = generateExecutions({ count: 4, seed: 14, prefix: 'narrowatt' }).map((r) => ({ ...r, jobType: 'narrow-attempts' }));
    await insertExecutions(database.handle.db, rows);
    await insertAttempts(database.handle.db, rows.map((r) => r.jobId));
    const fields = ['attempt', 'messageId', 'startedAt', 'finishedAt', 'durationSeconds', 'httpStatus', 'error'];
    const list = async (selection: string) =>
      (
        await graphqlData<{ jobExecutions: { nodes: { attempts: Record<string, unknown>[] }[] } }, Record<string, unknown>>(
          t.baseUrl,
          `{ jobExecutions(filter: { jobType: ["narrow-attempts"] }, orderBy: { field: CREATED_AT, direction: ASC }) { nodes { attempts { ${selection} } } } }`,
        )
      ).jobExecutions.nodes.map((n) => n.attempts);
    const full = await list(fields.join(' '));
    expect(full.flat()).toHaveLength(8);
    for (const field of fields.concat('__typename')) {
      statements = [];
      const alone = await list(field);
      const [statement] = statements;
      statements = undefined;
      expect(alone, field).toEqual(full.map((attempts) => attempts.map((a) => (field === '__typename' ? { __typename: 'JobAttempt' } : { [field]: a[field] }))));
      // The attempts' timestamps and other columns appear only when a selected field reads them.
      const reads: Record<string, string> = { startedAt: 'started_at', finishedAt: 'finished_at', durationSeconds: 'duration_ms', httpStatus: 'http_status', messageId: 'message_id' };
      for (const column of Object.values(reads).filter((c) => c !== reads[field])) {
        expect(statement, `${field} reads ${column}`).not.toMatch(new RegExp(`"${column}"`));
      }
    }
  });
});
