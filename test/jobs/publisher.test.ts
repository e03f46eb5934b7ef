import { QstashError } from '@upstash/qstash';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createQStashClient } from '../../src/jobs/publisher.js';
import { createTestLogger } from '../helpers/app.js';
import { freePort } from '../helpers/ports.js';
import { startStandInHarness, TOKEN, type StandInHarness } from '../helpers/standin.js';

/** The Client jobscope makes, against the stand-in: what it says about a refused call, and where. */
describe('the QStash Client jobscope makes', () => {
  let harness: StandInHarness;
  beforeAll(async () => {
    harness = await startStandInHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('throws a refused call (404) as the SDK does, with its line in the log at debug instead of on stderr', async () => {
    const { logger, entries } = createTestLogger();
    const client = createQStashClient({ qstash: { kind: 'remote', url: harness.qstashUrl, token: TOKEN } }, () => harness.qstashUrl, { logger });
    const stderr = vi.spyOn(console, 'error');
    try {
      const refused = await client.messages.get('msg_nobody_has').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(QstashError);
      expect((refused as QstashError).status).toBe(404);
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
    }
    expect(entries.filter((e) => e.message === '[qstash] Call refused')).toMatchObject([{ level: 'debug', status: 404, request: expect.stringContaining('/v2/messages/msg_nobody_has') }]);
  });

  it('a QStash it cannot reach: the SDK\'s retry and give-up lines go to the log at debug, structured, none to stderr, and the error still reaches the caller', async () => {
    const { logger, entries } = createTestLogger();
    // A port nothing listens on: every call is refused at connect (fetch failed, ECONNREFUSED).
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const client = createQStashClient({ qstash: { kind: 'remote', url: unreachable, token: TOKEN } }, () => unreachable, { logger });
    const stderr = [vi.spyOn(console, 'error'), vi.spyOn(console, 'warn'), vi.spyOn(console, 'log')];
    let failure: unknown;
    try {
      failure = await client.publishJSON({ url: 'http://app.example/api/jobs/email?token=secret', body: { n: 1 } }).catch((error: unknown) => error);
    } finally {
      for (const spy of stderr) spy.mockRestore();
    }
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error).cause)).toContain('ECONNREFUSED');
    for (const spy of stderr) expect(spy).not.toHaveBeenCalled();
    const lines = entries.filter((e) => e.message.startsWith('[qstash]'));
    // createQStashClient's Client tries 3 times (2 retries, 100 then 200 ms apart).
    expect(lines).toMatchObject([
      { level: 'debug', message: '[qstash] Call got no answer, retrying', attempt: 1, attempts: 3, retryInMs: 100, error: expect.stringContaining('ECONNREFUSED') },
      { level: 'debug', message: '[qstash] Call got no answer, retrying', attempt: 2, attempts: 3, retryInMs: 200, error: expect.stringContaining('ECONNREFUSED') },
      { level: 'debug', message: '[qstash] Call got no answer', attempts: 3, error: expect.stringContaining('ECONNREFUSED') },
    ]);
    // The destination is named by its origin only, as the SDK's own line does.
    for (const line of lines) expect(line.request).toBe(`POST ${unreachable}/v2/publish/http://app.example/…`);
  });

  it('the relay\'s Client (no SDK retries) logs one line per call it could not make', async () => {
    const { logger, entries } = createTestLogger();
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const client = createQStashClient({ qstash: { kind: 'remote', url: unreachable, token: TOKEN } }, () => unreachable, { retry: false, logger });
    const stderr = [vi.spyOn(console, 'error'), vi.spyOn(console, 'warn')];
    try {
      await expect(client.messages.get('msg_x')).rejects.toThrow();
    } finally {
      for (const spy of stderr) spy.mockRestore();
    }
    for (const spy of stderr) expect(spy).not.toHaveBeenCalled();
    expect(entries.filter((e) => e.message.startsWith('[qstash]'))).toMatchObject([
      { level: 'debug', message: '[qstash] Call got no answer', attempts: 1, request: `GET ${unreachable}/v2/messages/msg_x` },
    ]);
  });
});
