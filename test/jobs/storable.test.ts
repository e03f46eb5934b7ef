import { describe, expect, it } from 'vitest';
import { InvalidPayloadError } from '../../src/jobs/errors.js';
import { isStorable, storableJson, unstorablePaths } from '../../src/jobs/storable.js';
import { useTestApp } from '../helpers/app.js';
import { databaseKind } from '../helpers/db.js';

describe('what PostgreSQL cannot store', () => {
  it('finds NULs and unpaired surrogates in strings and keys, and replaces them with U+FFFD', () => {
    expect(['ok', '🎉', '\uFFFD', 'a\u0000', '\ud800', 'x\udc00y', '\ud83d\ude00'].map(isStorable)).toEqual([true, true, true, false, false, false, true]);
    const value = { a: ['fine', 'b\u0000'], ['k\u0000']: { deep: '\ud800' } };
    expect(unstorablePaths(value)).toEqual([['k\u0000'], ['a', 1], ['k\u0000', 'deep']]);
    expect(storableJson(value)).toEqual({ a: ['fine', 'b\uFFFD'], ['k\uFFFD']: { deep: '\uFFFD' } });
  });
});

describe(`enqueue from a team's own code on ${databaseKind}`, () => {
  const fixture = useTestApp();
  it('refuses a NUL in the payload or metadata with InvalidPayloadError, writing nothing', async () => {
    const jobs = fixture.app.app.jobs;
    const email = { to: 'ada@example.com', subject: 's', text: 't' };
    await expect(jobs.enqueue('send-email', { ...email, subject: 'a\u0000' })).rejects.toThrow(InvalidPayloadError);
    await expect(jobs.enqueue('send-email', email, { metadata: { userId: '\u0000' } })).rejects.toThrow(/metadata\.userId: contains a NUL/);
    expect(await jobs.read.count()).toBe(0);
  });
});
