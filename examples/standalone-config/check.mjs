// `npm run check`: `npx jobscope start` serves this folder's jobscope.config.ts; the shared
// contract checks it, and a declined card shows that NonRetryableJobError stops the retries.
import { checkExample } from '../check/contract.mjs';

await checkExample({
  name: 'standalone-config',
  start: (port) => ({ command: 'npx', args: ['jobscope', 'start', '--port', String(port)] }),
  basePath: '',
  jobTypes: ['resize-image', 'charge-card'],
  enqueue: { jobType: 'resize-image', payload: { url: 'https://example.com/cat.png', width: 128 } },
  // Standalone, jobscope is the whole app: its liveness route stands in for the app's own.
  appRoutes: [{ path: '/health', includes: '"status":"ok"' }],
  async extra(ctx) {
    await ctx.step('NonRetryableJobError: a declined charge-card fails after one attempt, answered 489', async () => {
      const { jobId } = await ctx.enqueueJob('charge-card', { customerId: 'declined-42', amountCents: 500 });
      const job = await ctx.waitForJob(jobId, 'FAILED');
      ctx.assert(job.attempts.length === 1 && job.attempts[0].httpStatus === 489, `attempts: ${JSON.stringify(job.attempts)}`);
      ctx.assert(job.error?.includes('declined'), `error: ${job.error}`);
    });
  },
});
