import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleJobs } from '../../src/index.js';
import { hasStatus, useTestApp, waitForJob } from '../helpers/app.js';
import { enqueueJob, failing, flakyJob, launchChromium, openDashboard, type DashboardPage } from '../helpers/browser.js';

const OPERATE = 'dash-actions-operate';
const READ = 'dash-actions-read';

describe('dashboard actions and live feed (real server, real Chromium)', () => {
  const ctx = useTestApp({
    jobs: [...exampleJobs(), flakyJob],
    env: { JOBSCOPE_OPERATE_KEYS: `ops:${OPERATE}`, JOBSCOPE_READ_KEYS: `viewer:${READ}`, JOBSCOPE_BULK_RATE_PER_SECOND: '20' },
  });
  let browser: Browser;
  let operator: DashboardPage;
  const base = () => ctx.app.baseUrl;
  const enqueue = (payload: { key: string }) => enqueueJob(base(), OPERATE, { jobType: 'flaky', payload });
  const settle = (id: string) => waitForJob(ctx.database.handle, id, hasStatus('completed', 'failed', 'cancelled'));

  beforeAll(async () => {
    browser = await launchChromium();
    operator = await openDashboard(browser, base(), OPERATE);
  });
  afterAll(async () => {
    failing.clear();
    await browser?.close();
  });

  it("retries a failed job from its page until it completes through the real pipeline", async () => {
    failing.add('retry-me');
    const id = await enqueue({ key: 'retry-me' });
    await settle(id);
    const { page } = operator;
    await page.goto(`${base()}/#/jobs/${id}`);
    await expect.poll(() => page.getByTestId('job-status').getAttribute('data-value')).toBe('FAILED');
    failing.delete('retry-me');
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    // The page follows the job's events: no reload.
    await expect.poll(() => page.getByTestId('job-status').getAttribute('data-value'), { timeout: 15_000 }).toBe('COMPLETED');
    expect((await waitForJob(ctx.database.handle, id, hasStatus('completed'))).retryCount).toBeGreaterThanOrEqual(0);
    expect(await page.locator('[data-testid="attempts"] tbody tr').count()).toBe(2);
  });

  it('checks an edited payload before replaying it, and shows the error next to its field', async () => {
    failing.add('replay-me');
    const id = await enqueue({ key: 'replay-me' });
    await settle(id);
    const { page } = operator;
    await page.goto(`${base()}/#/jobs/${id}`);
    await page.getByRole('button', { name: 'Replay with edited payload…' }).click();
    const key = page.locator('#replay-key');
    await key.fill('');
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    expect(await page.locator('#replay-key-error').textContent()).toBe('Required');
    expect(await key.getAttribute('aria-invalid')).toBe('true');
    await page.locator('#replay-count').fill('1.5');
    await key.fill('replayed');
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    expect(await page.locator('#replay-count-error').textContent()).toBe('Must be a whole number');
    await page.locator('#replay-count').fill('2');
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    // The new job's page, completed: its payload is the edited one.
    await expect.poll(() => page.evaluate(() => location.hash)).not.toBe(`#/jobs/${id}`);
    const replayId = (await page.evaluate(() => location.hash)).slice('#/jobs/'.length);
    await waitForJob(ctx.database.handle, replayId, hasStatus('completed'));
    await expect.poll(() => page.getByTestId('job-status').getAttribute('data-value'), { timeout: 15_000 }).toBe('COMPLETED');
    expect(JSON.parse((await page.locator('pre[aria-label="Payload"]').textContent())!)).toEqual({ key: 'replayed', count: 2 });
  });

  it('shows a new job in the live feed', async () => {
    const { page } = operator;
    await page.goto(`${base()}/#/live`);
    await expect.poll(() => page.getByTestId('live-state').textContent()).toBe('● connected');
    const id = await enqueue({ key: 'live-one' });
    await expect.poll(() => page.locator(`[data-testid="live-feed"] li[data-job="${id}"][data-type="ENQUEUED"]`).count()).toBe(1);
    await expect.poll(() => page.locator(`[data-testid="live-feed"] li[data-job="${id}"][data-type="COMPLETED"]`).count(), { timeout: 15_000 }).toBe(1);
    expect(Number(await page.getByTestId('live-completed').textContent())).toBeGreaterThanOrEqual(1);
  });

  it('bulk-retries the filter: the dry run shows the matched count, the real run reaches 100 %', async () => {
    failing.add('bulk');
    const ids = await Promise.all(Array.from({ length: 8 }, () => enqueue({ key: 'bulk' })));
    for (const id of ids) await settle(id);
    failing.delete('bulk');
    const { page } = operator;
    await page.goto(`${base()}/#/runs?status=FAILED&payload=${encodeURIComponent('{"key":"bulk"}')}`);
    await expect.poll(async () => Number(await page.getByTestId('runs-total').getAttribute('data-value'))).toBe(8);
    await page.getByRole('button', { name: 'Retry matching…' }).click();
    await expect.poll(() => page.getByTestId('bulk-matched').getAttribute('data-value')).toBe('8');
    await page.getByRole('button', { name: 'Retry 8 jobs' }).click();
    const progress = page.getByTestId('bulk-progress');
    await expect.poll(() => progress.getAttribute('data-percent'), { timeout: 20_000 }).toBe('100');
    await expect.poll(() => progress.getAttribute('data-status')).toBe('COMPLETED');
    expect(await progress.textContent()).toContain('8 of 8 (100 %)');
    for (const id of ids) await waitForJob(ctx.database.handle, id, hasStatus('completed'), 15_000);
  });

  it('shows a read key no action buttons', async () => {
    failing.add('read-only');
    const id = await enqueue({ key: 'read-only' });
    await settle(id);
    const reader = await openDashboard(browser, base(), READ);
    try {
      const { page } = reader;
      expect(await page.getByTestId('viewer-role').getAttribute('data-value')).toBe('READ');
      await page.goto(`${base()}/#/jobs/${id}`);
      await expect.poll(() => page.getByTestId('job-status').getAttribute('data-value')).toBe('FAILED');
      await page.goto(`${base()}/#/runs?status=FAILED`);
      await page.getByTestId('runs-table').waitFor();
      expect(await page.getByRole('button').allTextContents()).toEqual(['Forget key', 'Apply filter']);
      await page.goto(`${base()}/#/jobs/${id}`);
      await page.getByTestId('attempts').waitFor();
      expect(await page.getByRole('button').allTextContents()).toEqual(['Forget key']);
      expect(reader.problems).toEqual([]);
    } finally {
      await reader.context.close();
    }
  });

  it('logged no console errors', () => {
    expect(operator.problems).toEqual([]);
  });
});
