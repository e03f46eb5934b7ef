/** QStash's cron: five fields (minute precision), optionally behind `CRON_TZ=<zone> `, read by croner. */
import { Cron } from 'croner';

/** A QStash cron as a croner pattern (paused: it only computes times); throws with croner's reason when it is not one. */
export function parseQStashCron(text: string): Cron {
  const match = /^\s*CRON_TZ=(\S+)\s+(.+)$/.exec(text);
  const pattern = (match ? match[2] : text)?.trim() ?? '';
  if (pattern === '') throw new Error('the cron is empty');
  return new Cron(pattern, { mode: '5-part', paused: true, ...(match ? { timezone: match[1] } : {}) });
}
