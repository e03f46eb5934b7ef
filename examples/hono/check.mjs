// `npm run check`: the Hono app runs with jobscope mounted under /jobscope through the fetch
// handler; the shared contract checks it.
import { checkExample } from '../check/contract.mjs';

await checkExample({
  name: 'hono',
  start: () => ({ command: 'npx', args: ['tsx', 'server.ts'] }),
  basePath: '/jobscope',
  jobTypes: ['notify-slack'],
  enqueue: { jobType: 'notify-slack', payload: { channel: '#deploys', text: 'v1.2 is live' } },
  appRoutes: [
    { path: '/', includes: 'my app' },
    { path: '/nothing-here', status: 404 },
  ],
});
