import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleJobs } from '../../src/index.js';
import { hasStatus, useTestApp, waitForJob } from '../helpers/app.js';
import { enqueueJob, failing, flakyJob, launchChromium, openDashboard, type DashboardPage } from '../helpers/browser.js';
import { ROOT } from '../helpers/build.js';
import { graphqlData } from '../helpers/graphql.js';

const OPERATE = 'dash-overview-operate';
const READ = 'dash-overview-read';
/** DASHBOARD_SCREENSHOTS=1 writes docs/dashboard-*.png, the README's pictures. */
const SCREENSHOTS = process.env['DASHBOARD_SCREENSHOTS'] === '1';

describe('dashboard overview (real server, real Chromium)', () => {
  const ctx = useTestApp({ jobs: [...exampleJobs(), flakyJob], env: { JOBSCOPE_OPERATE_KEYS: `ops:${OPERATE}`, JOBSCOPE_READ_KEYS: `viewer:${READ}` } });
  let browser: Browser;
  let dash: DashboardPage;
  let failedJobId: string;
  const base = () => ctx.app.baseUrl;
  const enqueue = (jobType: string, payload: unknown) => enqueueJob(base(), OPERATE, { jobType, payload, metadata: { userId: 'u_1' } });

  beforeAll(async () => {
    // Completed, failed and a mixed type: the numbers differ per column.
    failing.add('overview-bad');
    const ids = [
      ...(await Promise.all([1, 2, 3].map((i) => enqueue('send-email', { to: 'ada@example.com', subject: `hello ${i}`, text: 'hi' })))),
      ...(await Promise.all([1, 2].map(() => enqueue('flaky', { key: 'overview-bad' })))),
      await enqueue('flaky', { key: 'overview-good' }),
    ];
    for (const id of ids) await waitForJob(ctx.database.handle, id, hasStatus('completed', 'failed'));
    failedJobId = ids[3]!;
    browser = await launchChromium();
    dash = await openDashboard(browser, base(), OPERATE);
  });
  afterAll(async () => {
    failing.clear();
    await browser?.close();
  });

  it('serves the page, its script and styles with their content types, and keeps GraphiQL at /graphql', async () => {
    const page = await fetch(`${base()}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<meta name="jobscope-base" content="" />');
    expect((await fetch(`${base()}/dashboard/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${base()}/dashboard/app.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(`${base()}/dashboard/nothing.js`)).status).toBe(404);
    const graphiql = await fetch(`${base()}/graphql`, { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    expect(await graphiql.text()).toContain('GraphiQL');
  });

  it("shows the numbers GraphQL answers for the same data", async () => {
    const { page } = dash;
    await page.getByTestId('type-table').waitFor();
    // The page asks for the per-type figures since the range's start, which it states.
    const since = await page.getByTestId('type-table').getAttribute('data-since');
    const answer = await graphqlData<
      {
        jobHealth: { status: string; failureRate: number; failedJobs: number; stuckJobs: number };
        jobStats: { jobType: string; status: string; count: number; p50DurationSeconds: number | null; p95DurationSeconds: number | null; p50QueueWaitSeconds: number | null; p95QueueWaitSeconds: number | null }[];
        jobThroughput: { enqueued: number; completed: number; failed: number }[];
      },
      unknown
    >(
      base(),
      `query ($since: DateTime!) { jobHealth { status failureRate failedJobs stuckJobs }
        jobStats(filter: { createdAfter: $since }) { jobType status count p50DurationSeconds p95DurationSeconds p50QueueWaitSeconds p95QueueWaitSeconds }
        jobThroughput(bucket: MINUTE) { enqueued completed failed } }`,
      { key: READ, variables: { since } },
    );
    const value = async (testId: string) => page.getByTestId(testId).getAttribute('data-value');
    expect(await value('health-status')).toBe(answer.jobHealth.status);
    expect(Number(await value('health-failure-rate'))).toBe(answer.jobHealth.failureRate);
    expect(Number(await value('health-failed'))).toBe(answer.jobHealth.failedJobs);
    expect(Number(await value('health-stuck'))).toBe(answer.jobHealth.stuckJobs);
    expect(answer.jobHealth.failedJobs).toBe(2);

    const sum = (key: 'enqueued' | 'completed' | 'failed') => answer.jobThroughput.reduce((n, b) => n + b[key], 0);
    expect(Number(await value('throughput-enqueued'))).toBe(sum('enqueued'));
    expect(Number(await value('throughput-completed'))).toBe(sum('completed'));
    expect(Number(await value('throughput-failed'))).toBe(sum('failed'));
    expect(sum('enqueued')).toBe(6);

    for (const jobType of ['send-email', 'flaky']) {
      const rows = answer.jobStats.filter((s) => s.jobType === jobType);
      const total = rows.reduce((n, s) => n + s.count, 0);
      const failed = rows.filter((s) => s.status === 'FAILED').reduce((n, s) => n + s.count, 0);
      const completed = rows.find((s) => s.status === 'COMPLETED');
      const cell = (col: string) => page.locator(`tr[data-type="${jobType}"] [data-col="${col}"]`).getAttribute('data-value');
      expect(Number(await cell('count'))).toBe(total);
      expect(Number(await cell('failureRate'))).toBe(failed / total);
      expect(await cell('p50')).toBe(String(completed?.p50DurationSeconds ?? ''));
      expect(await cell('p95')).toBe(String(completed?.p95DurationSeconds ?? ''));
      expect(await cell('waitP50')).toBe(String(completed?.p50QueueWaitSeconds ?? ''));
      expect(await cell('waitP95')).toBe(String(completed?.p95QueueWaitSeconds ?? ''));
    }
    // Completed runs waited for their start: the column shows a figure, not a dash.
    expect(answer.jobStats.find((s) => s.jobType === 'send-email' && s.status === 'COMPLETED')?.p50QueueWaitSeconds).toBeGreaterThan(0);
    expect(await page.locator('tr[data-type="flaky"] [data-col="count"]').textContent()).toBe('3');
    expect(await page.locator('tr[data-type="flaky"] [data-col="failureRate"]').textContent()).toBe('66.7 %');
  });

  it('counts a new job without a reload', async () => {
    const { page } = dash;
    const before = Number(await page.getByTestId('throughput-enqueued').getAttribute('data-value'));
    const id = await enqueue('send-email', { to: 'bob@example.com', subject: 'live', text: 'hi' });
    await waitForJob(ctx.database.handle, id, hasStatus('completed'));
    await expect.poll(async () => Number(await page.getByTestId('throughput-enqueued').getAttribute('data-value'))).toBe(before + 1);
    await expect.poll(async () => Number(await page.getByTestId('live-count').textContent())).toBeGreaterThan(0);
  });

  it('reaches the main controls by keyboard', async () => {
    const { page } = dash;
    // A fresh load: Tab starts from the top of the page.
    await page.goto('about:blank');
    await page.goto(`${base()}/#/runs`);
    await page.getByRole('button', { name: 'Apply filter' }).waitFor();
    const focused: string[] = [];
    // datetime-local takes a Tab stop per part (day, month, year, hour, minute).
    for (let i = 0; i < 80 && !focused.includes('Retry matching…'); i++) {
      await page.keyboard.press('Tab');
      focused.push(
        await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          if (!el) return '';
          const input = el as HTMLInputElement;
          return input.labels?.[0]?.textContent?.trim() || el.innerText?.trim() || el.getAttribute('aria-label') || el.tagName;
        }),
      );
    }
    for (const name of ['Skip to content', 'Overview', 'Runs', 'Live', 'failed', 'Type', 'Error contains', 'Apply filter', 'Retry matching…']) {
      expect(focused, `${name} in ${JSON.stringify(focused)}`).toContain(name);
    }
    // Check "failed" and apply the filter with the keyboard alone.
    await page.getByLabel('failed').focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Apply filter' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/runs?status=FAILED');
    await expect.poll(async () => Number(await page.getByTestId('runs-total').getAttribute('data-value'))).toBe(2);
  });

  it('shows a job page with its payload, attempts, diagnosis and logs', async () => {
    const { page } = dash;
    await page.goto(`${base()}/#/jobs/${failedJobId}`);
    await expect.poll(() => page.getByTestId('job-status').getAttribute('data-value')).toBe('FAILED');
    expect(await page.getByTestId('job-error').textContent()).toContain('ECONNRESET while running overview-bad');
    expect(await page.locator('[data-testid="attempts"] [data-col="http"]').first().textContent()).toMatch(/^\d{3}$/);
    expect(await page.getByTestId('diagnosis-verdict').textContent()).toBe('HANDLER_ERROR');
    expect(await page.locator('pre[aria-label="Payload"]').textContent()).toContain('"key": "overview-bad"');
    await page.getByTestId('logs').waitFor();
    if (SCREENSHOTS) {
      mkdirSync(`${ROOT}/docs`, { recursive: true });
      await page.screenshot({ path: `${ROOT}/docs/dashboard-job.png`, fullPage: true });
      await page.goto(`${base()}/#/`);
      await page.getByTestId('type-table').waitFor();
      await page.screenshot({ path: `${ROOT}/docs/dashboard-overview.png`, fullPage: true });
      const dark = await openDashboard(browser, base(), OPERATE, { colorScheme: 'dark' });
      await dark.page.getByTestId('type-table').waitFor();
      await dark.page.screenshot({ path: `${ROOT}/docs/dashboard-overview-dark.png`, fullPage: true });
      await dark.context.close();
    }
  });

  it('logged no console errors', () => {
    expect(dash.problems).toEqual([]);
  });
});
