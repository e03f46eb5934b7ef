import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';

describe('logger', () => {
  it('writes daily JSON files and keeps secrets out of them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobscope-logs-'));
    try {
      const secret = 'sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r';
      const logger = createLogger({ dir, silent: true, secrets: [secret] });
      logger.info('[jobs] Processing job', {
        jobId: 'j1',
        type: 'send-email',
        headers: { authorization: 'Bearer abc', 'upstash-signature': 'eyJ.x.y' },
        token: 'qstash-token',
        note: `key is ${secret}`,
      });
      await new Promise<void>((resolve) => {
        logger.on('finish', resolve);
        logger.end();
      });
      await new Promise((r) => setTimeout(r, 100));
      const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
      const today = new Date().toISOString().slice(0, 10);
      expect(files).toContain(`application-${today}.log`);
      const text = readFileSync(join(dir, `application-${today}.log`), 'utf8');
      const entry = JSON.parse(text.trim().split('\n').at(-1)!);
      expect(entry).toMatchObject({
        level: 'info',
        message: '[jobs] Processing job',
        jobId: 'j1',
        type: 'send-email',
        headers: { authorization: '[redacted]', 'upstash-signature': '[redacted]' },
        token: '[redacted]',
        note: 'key is [redacted]',
      });
      expect(text).not.toContain(secret);
      expect(text).not.toContain('Bearer abc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
