/**
 * Deliveries rejected for their signature are kept, bounded, with the reason and both URLs (never
 * the body): a BASE_URL mismatch through the real stand-in, forged requests over loopback signed
 * with another key, with a tampered body, or unsigned. systemCheck and the diagnosis read them.
 */
import { Client } from '@upstash/qstash';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/jobs/registry.js';
import { DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { signDelivery } from '../../src/qstash/signing.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';
import { SystemCheckDocument } from '../gql/graphql.js';

const job = defineJob({ type: 'sig', endpoint: '/api/jobs/sig', schema: z.object({}), timeoutSeconds: 5, retries: 0, handler: async () => ({}) });

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, { jobs: [job] });
});

afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

type Row = { messageId: string | null; reason: string; checkedUrl: string; signedUrl: string | null; path: string; detail: string | null };
const failures = async () =>
  (await graphqlData<{ signatureFailures: Row[] }, Record<string, never>>(t.baseUrl, '{ signatureFailures(first: 100) { messageId reason checkedUrl signedUrl path detail } }', {}))
    .signatureFailures;

const endpoint = () => `${t.baseUrl}/api/jobs/sig`;
const post = (headers: Record<string, string>, body: string) => fetch(endpoint(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('signature failures', () => {
  it('keeps each rejection with its reason, the URL checked and the URL signed, never the body', async () => {
    const qstash = new Client({ baseUrl: `${t.baseUrl}/qstash`, token: DEV_QSTASH_TOKEN, devMode: false, retry: false });
    const otherHost = endpoint().replace('127.0.0.1', 'localhost');
    const { messageId } = await qstash.publishJSON({ url: otherHost, body: { jobId: 'j-1', type: 'sig', payload: { secret: 'do-not-keep' }, metadata: {} }, retries: 0 });

    const body = JSON.stringify({ jobId: 'j-2', type: 'sig', payload: {}, metadata: {} });
    expect((await post({ 'upstash-signature': signDelivery({ signingKey: 'sig_notTheKey', url: endpoint(), body: Buffer.from(body) }), 'upstash-message-id': 'msg_forged' }, body)).status).toBe(401);
    const signed = signDelivery({ signingKey: t.app.config.signingKeys.current, url: endpoint(), body: Buffer.from(body) });
    expect((await post({ 'upstash-signature': signed, 'upstash-message-id': 'msg_tampered' }, body.replace('j-2', 'j-3'))).status).toBe(401);
    expect((await post({ 'upstash-message-id': 'msg_unsigned' }, body)).status).toBe(401);

    await expect.poll(async () => (await failures()).length, { timeout: 10_000 }).toBe(4);
    const rows = await failures();
    const byMessage = Object.fromEntries(rows.map((row) => [row.messageId, row]));
    expect(byMessage[messageId]).toMatchObject({ reason: 'URL_MISMATCH', signedUrl: otherHost, checkedUrl: endpoint(), path: '/api/jobs/sig' });
    expect(byMessage.msg_forged).toMatchObject({ reason: 'WRONG_KEY', signedUrl: null, checkedUrl: endpoint() });
    expect(byMessage.msg_tampered).toMatchObject({ reason: 'BODY_HASH' });
    expect(byMessage.msg_unsigned).toMatchObject({ reason: 'MISSING_SIGNATURE', detail: null });
    expect(JSON.stringify(rows)).not.toContain('do-not-keep');

    const { systemCheck } = await graphqlData(t.baseUrl, SystemCheckDocument, {});
    const item = systemCheck.groups.flatMap((group) => group.items).find((entry) => entry.name === 'signature-failures');
    expect(item?.status).toBe('FAIL');
    expect(item?.detail).toMatch(/^4 delivery\(ies\) rejected for their signature/);
    expect(item?.detail).toContain('1 URL_MISMATCH');
  });

  it('writes at most 20 a second, however many forged requests arrive', async () => {
    const before = (await failures()).length;
    const body = '{}';
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => post({ 'upstash-signature': 'not-a-jwt', 'upstash-message-id': `msg_flood_${i}` }, body).then((r) => r.status)),
    );
    expect(answers.every((status) => status === 401)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const added = (await failures()).length - before;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(40);
  });
});
