import { defineConfig, defineJob, NonRetryableJobError } from 'jobscope';
import { z } from 'zod';

/** Makes a thumbnail of an uploaded image; a failure (storage down) is worth retrying. */
const resizeImage = defineJob({
  type: 'resize-image',
  endpoint: '/api/jobs/resize-image',
  description: 'Makes a thumbnail of an uploaded image.',
  schema: z.object({ url: z.url(), width: z.number().int().min(16).max(4096) }),
  timeoutSeconds: 60,
  retries: 3,
  async handler({ url, width }, _job, { logger, signal }) {
    signal.throwIfAborted();
    logger.info('[images] resized', { url, width });
    return { thumbnail: `${url}?w=${width}` };
  },
});

/** Charges a customer's card. A declined card stays declined: no retry, the job fails at once. */
const chargeCard = defineJob({
  type: 'charge-card',
  endpoint: '/api/jobs/charge-card',
  description: 'Charges a card; a decline is final.',
  schema: z.object({ customerId: z.string().min(1), amountCents: z.number().int().positive() }),
  timeoutSeconds: 30,
  retries: 5,
  async handler({ customerId, amountCents }) {
    if (customerId.startsWith('declined')) {
      throw new NonRetryableJobError(`card of ${customerId} was declined`);
    }
    return { charged: amountCents };
  },
});

export default defineConfig({
  jobs: [resizeImage, chargeCard],
  port: 4100,
});
