// `npm run check`: the Express app runs with jobscope mounted under /jobscope; the shared contract
// checks it (WebSocket subscriptions included), and a sign-up through the app's own route enqueues
// a job that runs.
import { checkExample } from '../check/contract.mjs';

await checkExample({
  name: 'express',
  start: () => ({ command: 'npx', args: ['tsx', 'server.ts'] }),
  basePath: '/jobscope',
  // The app's own route: jobscope has served nothing yet when the first sign-up arrives.
  readyPath: '/',
  jobTypes: ['send-welcome'],
  enqueue: { jobType: 'send-welcome', payload: { email: 'grace@example.com', name: 'Grace' } },
  appRoutes: [
    { path: '/', includes: 'my app' },
    { method: 'POST', path: '/signup', json: { email: 'ada@example.com', name: 'Ada' }, status: 201 },
    { method: 'POST', path: '/signup', json: { email: 'not-an-email', name: 'Ada' }, status: 400 },
    { path: '/jobscope/nothing-here', status: 404 },
  ],
  webSocket: true,
  async extra(ctx) {
    await ctx.step('POST /signup (the app enqueues with jobscope.enqueue): the job COMPLETES', async () => {
      const { status, body } = await ctx.request('POST', '/signup', { email: 'alan@example.com', name: 'Alan' });
      ctx.assert(status === 201 && body.welcome, `POST /signup answered ${status}: ${JSON.stringify(body)}`);
      await ctx.waitForJob(body.welcome, 'COMPLETED');
    });
  },
});
