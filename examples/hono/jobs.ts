import { defineJob } from 'jobscope';
import { z } from 'zod';

/** The team's job: tell a Slack channel that a deploy finished. */
export const notifySlack = defineJob({
  type: 'notify-slack',
  endpoint: '/api/jobs/notify-slack',
  description: 'Posts a message to a Slack channel.',
  schema: z.object({ channel: z.string().startsWith('#'), text: z.string().min(1) }),
  timeoutSeconds: 15,
  retries: 5,
  async handler({ channel, text }, _job, { logger }) {
    logger.info('[slack] posted', { channel, text });
    return { channel };
  },
});
