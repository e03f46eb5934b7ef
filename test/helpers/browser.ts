import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { z } from 'zod';
import { defineJob, NonRetryableJobError } from '../../src/index.js';
import { EnqueueJobDocument, type EnqueueJobInput } from '../gql/graphql.js';
import { graphqlData } from './graphql.js';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it): Playwright's own download does not work here. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A page of the dashboard whose console errors and uncaught exceptions are kept in `problems`. */
export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

/**
 * A fresh browser context (its own sessionStorage) at the dashboard, with `key` entered through
 * the key form when the server asks for one.
 */
export async function openDashboard(browser: Browser, baseUrl: string, key: string | undefined, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: options.colorScheme ?? 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  await page.goto(`${baseUrl}/`);
  if (key !== undefined) {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Connect' }).click();
  }
  await page.getByTestId('viewer-role').waitFor();
  return { context, page, problems };
}

/** Job types whose runs fail for good while `failing` holds their key: a retry after it is cleared completes. */
export const failing = new Set<string>();

export const flakyJob = defineJob({
  type: 'flaky',
  endpoint: '/api/jobs/flaky',
  schema: z.object({ key: z.string().min(1), count: z.number().int().min(0).optional() }),
  timeoutSeconds: 5,
  retries: 0,
  parallelism: 20,
  async handler({ key }) {
    if (failing.has(key)) throw new NonRetryableJobError(`ECONNRESET while running ${key}`);
    return { ok: key };
  },
});

/** Enqueues through the API (the dashboard's tests watch what a client's job does); its id. */
export async function enqueueJob(baseUrl: string, key: string, input: EnqueueJobInput): Promise<string> {
  return (await graphqlData(baseUrl, EnqueueJobDocument, { key, variables: { input } })).enqueueJob.jobId;
}
