import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { databaseKind } from '../helpers/db.js';
import { errorCodes, graphql, type WireError } from '../helpers/graphql.js';

const fixture = useTestApp();
const jobCount = async () => Number((await fixture.database.handle.query<{ n: string }>('SELECT count(*) AS n FROM job_executions'))[0]!.n);

const LIST = 'query($first: Int, $filter: JobExecutionFilter) { jobExecutions(first: $first, filter: $filter) { totalCount } }';
const ENQUEUE = 'mutation($input: EnqueueJobInput!) { enqueueJob(input: $input) { jobId } }';
const email = { to: 'ada@example.com', subject: 's', text: 't' };

describe(`malformed request parameters on ${databaseKind}`, () => {
  const get = (params: Record<string, string>) =>
    fetch(`${fixture.app.baseUrl}/graphql?${new URLSearchParams(params)}`, { headers: { accept: 'application/json' } });

  it.each([
    ['variables', { query: LIST, variables: '{not json' }],
    ['extensions', { query: '{ __typename }', extensions: '[1,' }],
  ])('answers a GET with malformed %s 400 BAD_REQUEST', async (_, params) => {
    const res = await get(params);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: WireError[] };
    expect(errorCodes(body)).toEqual(['BAD_REQUEST']);
  });

  it('answers a url-encoded POST with malformed variables 400 BAD_REQUEST', async () => {
    const res = await fetch(`${fixture.app.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ query: LIST, variables: '{"first":' }),
    });
    expect(res.status).toBe(400);
    expect(errorCodes((await res.json()) as never)).toEqual(['BAD_REQUEST']);
  });

  it('still runs a well-formed GET', async () => {
    const res = await get({ query: LIST, variables: '{"first":1}' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { jobExecutions: { totalCount: expect.any(Number) } } });
  });
});

describe(`variable coercion errors on ${databaseKind}`, () => {
  it.each([
    ['an invalid DateTime', 'query($since: DateTime) { jobStats(since: $since) { count } }', { since: 'yesterday' }],
    ['an unknown enum value', LIST, { filter: { status: ['NOPE'] } }],
    ['a wrong type', LIST, { first: 'ten' }],
    ['null for a non-null variable', ENQUEUE, { input: null }],
    ['a missing non-null variable', ENQUEUE, {}],
    ['a missing required input field', ENQUEUE, { input: { payload: email } }],
    ['an unknown input field', ENQUEUE, { input: { jobType: 'send-email', payload: email, priority: 1 } }],
  ])('codes %s BAD_USER_INPUT, with HTTP 400 for graphql-response+json', async (_, query, variables) => {
    const response = await graphql(fixture.app.baseUrl, query, { variables });
    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
  });

  it('codes validation errors GRAPHQL_VALIDATION_FAILED', async () => {
    const response = await graphql(fixture.app.baseUrl, '{ jobExecutions(first: "ten") { totalCount } nope }');
    expect(errorCodes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
  });
});

describe(`strings PostgreSQL cannot store on ${databaseKind}`, () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['a filter', LIST, { filter: { jobType: 'send\u0000email' } }, 'filter'],
    ['a payload', ENQUEUE, { input: { jobType: 'send-email', payload: { ...email, subject: 'a\u0000b' } } }, 'input'],
    ['a payload key', ENQUEUE, { input: { jobType: 'send-email', payload: { ...email, 'x\u0000': 1 } } }, 'input'],
    ['metadata', ENQUEUE, { input: { jobType: 'send-email', payload: email, metadata: { userId: 'u\u0000' } } }, 'input'],
    ['an unpaired surrogate', ENQUEUE, { input: { jobType: 'send-email', payload: { ...email, text: 'a\ud800b' } } }, 'input'],
    ['a job id', 'query($id: ID!) { jobExecution(jobId: $id) { jobId } }', { id: 'job\u0000' }, 'id'],
    ['the job type of enqueueJob', ENQUEUE, { input: { jobType: 'send\u0000email', payload: email } }, 'input'],
    ['a retry', 'mutation($id: ID!) { retryJob(jobId: $id) { jobId } }', { id: '\u0000' }, 'id'],
  ];
  it.each(cases)('rejects a NUL in %s up front with BAD_USER_INPUT, writing nothing', async (_, query, variables, variable) => {
    const before = await jobCount();
    const response = await graphql(fixture.app.baseUrl, query, { variables });
    expect(response.status).toBe(400);
    expect(response.errors).toEqual([
      { message: expect.stringMatching(/PostgreSQL cannot store/), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', variable }) },
    ]);
    expect(await jobCount()).toBe(before);
  });

  it('rejects a NUL in a string literal of the document', async () => {
    const response = await graphql(fixture.app.baseUrl, '{ jobExecution(jobId: "a\\u0000b") { jobId } }');
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
  });

  it('lets other unusual text through (U+FFFD, emoji, a paired surrogate)', async () => {
    const response = await graphql(fixture.app.baseUrl, ENQUEUE, { variables: { input: { jobType: 'send-email', payload: { ...email, subject: '\uFFFD 🎉 \ud83d\ude00' } } } });
    expect(response.errors).toBeUndefined();
  });
});
