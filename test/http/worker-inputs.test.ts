import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { jobAttempts, jobExecutions } from '../../src/db/schema.js';
import { useTestApp } from '../helpers/app.js';
import { databaseKind } from '../helpers/db.js';
import { deliverSigned } from '../helpers/deliveries.js';

const fixture = useTestApp();

const email = { to: 'ada@example.com', subject: 's', text: 't' };

describe(`deliveries holding what PostgreSQL cannot store, on ${databaseKind}`, () => {
  it.each([
    ['the payload', (id: string) => ({ jobId: id, type: 'send-email', payload: { ...email, subject: 'a\u0000b' } }), ['payload', 'subject']],
    ['a payload key', (id: string) => ({ jobId: id, type: 'send-email', payload: { ...email, ['k\u0000']: 1 } }), ['payload', 'k\uFFFD']],
    ['metadata', (id: string) => ({ jobId: id, type: 'send-email', payload: email, metadata: { userId: 'u\u0000' } }), ['metadata', 'userId']],
    ['an unpaired surrogate', (id: string) => ({ jobId: id, type: 'send-email', payload: { ...email, text: '\udc00' } }), ['payload', 'text']],
  ])('answers a NUL in %s 489 non-retryable and records the job failed, U+FFFD in its place', async (_, make, path) => {
    const jobId = `nul-${randomUUID()}`;
    const { res, json, messageId } = await deliverSigned(fixture.app.baseUrl, JSON.stringify(make(jobId)));
    expect(res.status).toBe(489);
    expect(res.headers.get('upstash-nonretryable-error')).toBe('true');
    expect(json).toMatchObject({ jobId, issues: [{ path, message: expect.stringMatching(/PostgreSQL cannot store; recorded with U\+FFFD/) }] });
    const [row] = await fixture.database.handle.db.select().from(jobExecutions).where(eq(jobExecutions.jobId, jobId));
    expect(row).toMatchObject({ status: 'failed', messageId, error: expect.stringMatching(/cannot store/) });
    expect(JSON.stringify(row!.payload)).toContain('\uFFFD');
    const attempts = await fixture.database.handle.db.select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId));
    expect(attempts).toEqual([expect.objectContaining({ httpStatus: 489, finishedAt: expect.any(Date) })]);
  });

  it('records a NUL in the job id under the id with U+FFFD in its place', async () => {
    const jobId = `nul-${randomUUID()}`;
    const { res, json } = await deliverSigned(fixture.app.baseUrl, JSON.stringify({ jobId: `${jobId}\u0000`, type: 'send-email', payload: email }));
    expect(res.status).toBe(489);
    expect(json.jobId).toBe(`${jobId}\uFFFD`);
    const [row] = await fixture.database.handle.db.select().from(jobExecutions).where(eq(jobExecutions.jobId, `${jobId}\uFFFD`));
    expect(row?.status).toBe('failed');
  });

  it('records a body that is not JSON and holds a NUL byte under its message id', async () => {
    const { res, messageId } = await deliverSigned(fixture.app.baseUrl, 'not json \u0000 at all');
    expect(res.status).toBe(489);
    const [row] = await fixture.database.handle.db.select().from(jobExecutions).where(eq(jobExecutions.jobId, messageId));
    expect(row).toMatchObject({ status: 'failed', error: expect.stringMatching(/body is not JSON; the body contains a NUL/) });
  });

  it('records an over-long job id or user id under names that fit the indexes', async () => {
    const long = 'x'.repeat(5000);
    const first = await deliverSigned(fixture.app.baseUrl, JSON.stringify({ jobId: long, type: 'send-email', payload: email }));
    expect(first.res.status).toBe(489);
    expect(first.json.jobId).toBe(first.messageId);
    const jobId = `long-user-${randomUUID()}`;
    const random = Array.from({ length: 4000 }, () => String.fromCharCode(33 + Math.floor(Math.random() * 90))).join('');
    const second = await deliverSigned(fixture.app.baseUrl, JSON.stringify({ jobId, type: 'send-email', payload: email, metadata: { userId: random } }));
    expect(second.res.status).toBe(489);
    const [row] = await fixture.database.handle.db.select().from(jobExecutions).where(eq(jobExecutions.jobId, second.json.jobId!));
    expect(row).toMatchObject({ status: 'failed', userId: null });
  });
});
