import { QstashError } from '@upstash/qstash';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createQStashClient } from '../../src/jobs/publisher.js';
import { createTestLogger } from '../helpers/app.js';
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
});
