import { defineJob } from 'jobscope';
import { z } from 'zod';

/** The team's job: the welcome mail after a sign-up. */
export const sendWelcome = defineJob({
  type: 'send-welcome',
  endpoint: '/api/jobs/send-welcome',
  description: 'Sends the welcome mail to a new user.',
  schema: z.object({ email: z.email(), name: z.string().min(1) }),
  timeoutSeconds: 30,
  retries: 3,
  async handler({ email, name }, _job, { logger }) {
    logger.info('[mail] welcome sent', { email });
    return { greeted: name };
  },
});
