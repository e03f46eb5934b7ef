/** The stand-in's schedules through the real Client: cron runs (time-scaled), signing, pause, resume, delete. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { header, type StandInHarness, startStandInHarness } from '../helpers/standin.js';

// One schedule minute is 100 ms of wall time.
const TIME_SCALE = 600;
let harness: StandInHarness;

beforeAll(async () => {
  harness = await startStandInHarness({ scheduleTimeScale: TIME_SCALE });
});

afterAll(async () => {
  await harness?.close();
});

const runsOf = (path: string, scheduleId: string) =>
  harness.requestsTo(path).filter((request) => header(request, 'upstash-schedule-id') === scheduleId);

describe('QStash stand-in schedules', () => {
  it('runs a cron as signed deliveries carrying Upstash-Schedule-Id, each its own message', async () => {
    const destination = `${harness.destinationUrl}/cron/tick?from=schedule`;
    const { scheduleId } = await harness.client.schedules.create({
      destination,
      cron: '* * * * *',
      body: JSON.stringify({ report: 'daily' }),
      headers: { 'X-Team': 'ops' },
      retries: 1,
      label: 'nightly',
    });
    expect(scheduleId).toMatch(/^scd_/);

    await expect.poll(() => runsOf('/cron/tick', scheduleId).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    const runs = runsOf('/cron/tick', scheduleId);
    const [first, second] = runs;
    expect(first?.path).toBe('/cron/tick?from=schedule');
    expect(first?.body).toBe('{"report":"daily"}');
    expect(header(first, 'content-type')).toBe('application/json');
    expect(header(first, 'x-team')).toBe('ops');
    expect(header(first, 'upstash-retried')).toBe('0');
    expect(header(first, 'upstash-message-id')).not.toBe(header(second, 'upstash-message-id'));
    for (const run of runs) {
      await expect(harness.receiver.verify({ signature: header(run, 'upstash-signature') ?? '', body: run.body, url: destination })).resolves.toBe(true);
    }
    const schedule = await harness.client.schedules.get(scheduleId);
    expect(schedule).toMatchObject({
      scheduleId,
      cron: '* * * * *',
      destination,
      method: 'POST',
      body: '{"report":"daily"}',
      retries: 1,
      isPaused: false,
      labels: ['nightly'],
      header: expect.objectContaining({ 'X-Team': ['ops'] }),
    });
    expect(schedule.nextScheduleTime).toBeGreaterThan(schedule.lastScheduleTime ?? 0);
    expect(Object.values(schedule.lastScheduleStates ?? {})).toContain('SUCCESS');
    // Stopped first: a run logged as created may still be on its way to the destination.
    await harness.client.schedules.delete(scheduleId);
    const events = await harness.client.logs({ filter: { scheduleId } });
    expect(events.events.length).toBeGreaterThan(0);
    // A minute of schedule time is 100 ms of wall time. The cron paces when runs are published
    // (their CREATED events), not when they arrive (a starved loop delivers several together); a
    // run fired late narrows the next gap, so the mean from first to last is bounded, loosely.
    const created = events.events.filter((event) => event.state === 'CREATED').map((event) => event.time).sort((a, b) => a - b);
    expect(created.length).toBeGreaterThanOrEqual(3);
    const meanGap = (created.at(-1)! - created[0]!) / (created.length - 1);
    expect(meanGap).toBeGreaterThanOrEqual(40);
    expect(meanGap).toBeLessThan(1_000);
    const delivered = () => {
      const runIds = runsOf('/cron/tick', scheduleId).map((run) => header(run, 'upstash-message-id'));
      return events.events.every((event) => runIds.includes(event.messageId));
    };
    await expect.poll(delivered, { timeout: 5_000 }).toBe(true);
  });

  it('pauses (no runs), resumes (runs again), lists and deletes', async () => {
    const { scheduleId } = await harness.client.schedules.create({ destination: `${harness.destinationUrl}/cron/paused`, cron: '* * * * *' });
    await expect.poll(() => runsOf('/cron/paused', scheduleId).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1);

    await harness.client.schedules.pause({ schedule: scheduleId });
    await harness.standIn.idle();
    const whilePaused = runsOf('/cron/paused', scheduleId).length;
    const paused = await harness.client.schedules.get(scheduleId);
    expect(paused.isPaused).toBe(true);
    expect(paused.nextScheduleTime).toBeUndefined();
    // Five schedule minutes pass without a run.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await harness.standIn.idle();
    expect(runsOf('/cron/paused', scheduleId)).toHaveLength(whilePaused);

    await harness.client.schedules.resume({ schedule: scheduleId });
    expect((await harness.client.schedules.get(scheduleId)).isPaused).toBe(false);
    await expect.poll(() => runsOf('/cron/paused', scheduleId).length, { timeout: 5_000 }).toBeGreaterThan(whilePaused);

    const listed = await harness.client.schedules.list();
    expect(listed.map((schedule) => schedule.scheduleId)).toContain(scheduleId);
    await harness.client.schedules.delete(scheduleId);
    await expect(harness.client.schedules.get(scheduleId)).rejects.toMatchObject({ status: 404 });
    await harness.standIn.idle();
    const afterDelete = runsOf('/cron/paused', scheduleId).length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runsOf('/cron/paused', scheduleId)).toHaveLength(afterDelete);
    expect((await harness.client.schedules.list()).map((schedule) => schedule.scheduleId)).not.toContain(scheduleId);
  });

  it('updates a schedule in place when created again with its Upstash-Schedule-Id', async () => {
    const { scheduleId } = await harness.client.schedules.create({ destination: `${harness.destinationUrl}/cron/update`, cron: '0 0 1 1 *' });
    const again = await harness.client.schedules.create({ destination: `${harness.destinationUrl}/cron/update`, cron: '0 12 * * 1', scheduleId });
    expect(again.scheduleId).toBe(scheduleId);
    const schedule = await harness.client.schedules.get(scheduleId);
    expect(schedule.cron).toBe('0 12 * * 1');
    expect((await harness.client.schedules.list()).filter((s) => s.scheduleId === scheduleId)).toHaveLength(1);
    await harness.client.schedules.delete(scheduleId);
  });

  it('lands a run whose retries run out in the DLQ with its schedule id', async () => {
    harness.responders.set('/cron/broken', () => ({ status: 500, body: 'cron target down' }));
    const { scheduleId } = await harness.client.schedules.create({ destination: `${harness.destinationUrl}/cron/broken`, cron: '* * * * *', retries: 0 });
    await expect
      .poll(async () => (await harness.client.dlq.listMessages({ filter: { scheduleId } })).messages.length, { timeout: 5_000 })
      .toBeGreaterThanOrEqual(1);
    await harness.client.schedules.pause({ schedule: scheduleId });
    const [dead] = (await harness.client.dlq.listMessages({ filter: { scheduleId } })).messages;
    expect(dead).toMatchObject({ scheduleId, responseStatus: 500, responseBody: 'cron target down' });
    await harness.client.schedules.delete(scheduleId);
  });

  it('refuses a bad cron, a missing cron, a bad destination and unknown ids with 4xx', async () => {
    await expect(harness.client.schedules.create({ destination: `${harness.destinationUrl}/cron/x`, cron: 'every minute' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/Upstash-Cron/),
    });
    await expect(harness.client.schedules.create({ destination: `${harness.destinationUrl}/cron/x`, cron: '* * * * * *' })).rejects.toMatchObject({ status: 400 });
    await expect(harness.client.schedules.create({ destination: `${harness.destinationUrl}/cron/x`, cron: '61 * * * *' })).rejects.toMatchObject({ status: 400 });
    await expect(harness.client.schedules.create({ destination: 'not-a-url', cron: '* * * * *' })).rejects.toMatchObject({ status: 400 });
    const noCron = await harness.api(`/v2/schedules/${harness.destinationUrl}/cron/x`, { method: 'POST' });
    expect(noCron.status).toBe(400);
    await expect(harness.client.schedules.get('scd_unknown')).rejects.toMatchObject({ status: 404 });
    await expect(harness.client.schedules.pause({ schedule: 'scd_unknown' })).rejects.toMatchObject({ status: 404 });
    await expect(harness.client.schedules.delete('scd_unknown')).rejects.toMatchObject({ status: 404 });
    const tz = await harness.client.schedules.create({ destination: `${harness.destinationUrl}/cron/tz`, cron: 'CRON_TZ=Europe/Paris 0 9 * * *' });
    await harness.client.schedules.delete(tz.scheduleId);
    expect(harness.requestsTo('/cron/x')).toHaveLength(0);
  });
});
