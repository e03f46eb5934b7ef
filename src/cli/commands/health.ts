import type { Command } from 'commander';
import { request } from '../client.js';
import { EXIT } from '../errors.js';
import { connectionFrom, parseCount, withConnectionFlags, type ConnectionFlags } from '../flags.js';
import { DoctorDocument, HealthDocument, type DoctorQuery } from '../gql/graphql.js';
import { fields, paint, percent, printJson, runCommand, table, tone } from '../output.js';

type Item = DoctorQuery['systemCheck']['groups'][number]['items'][number];
const itemRow = (item: Pick<Item, 'status' | 'name' | 'detail'>) => [tone(item.status), item.name, item.detail];

/** `health` (the verdict over the window and any failing check) and `doctor` (the whole checklist). */
export function registerHealth(program: Command): void {
  withConnectionFlags(
    program
      .command('health')
      .description('the health verdict over the window and any failing check; exit 1 when UNHEALTHY or a check fails')
      .option('--window <minutes>', 'minutes of jobs to judge (default: the server\'s health window)', parseCount),
  ).action((options: ConnectionFlags & { window?: number }) =>
    runCommand(options.json, async () => {
      const { jobHealth, systemCheck } = await request(connectionFrom(options), HealthDocument, { windowMinutes: options.window ?? null });
      const failing = systemCheck.groups.flatMap((g) => g.items).filter((item) => item.status === 'FAIL');
      const ok = jobHealth.status === 'HEALTHY' && failing.length === 0;
      if (options.json) {
        printJson({ ok, health: jobHealth, checks: { status: systemCheck.status, failing } });
      } else {
        console.log(
          fields([
            ['Status', tone(jobHealth.status)],
            ['Window', `${jobHealth.windowMinutes} min`],
            ['Jobs', jobHealth.totalJobs],
            ['Failed', `${jobHealth.failedJobs} (${percent(jobHealth.failureRate)}; threshold ${percent(jobHealth.failureRateThreshold)})`],
            ['Stuck', `${jobHealth.stuckJobs} (processing over ${jobHealth.stuckAfterMinutes} min)`],
            ['Checks', tone(systemCheck.status)],
          ]),
        );
        if (failing.length > 0) console.log(`\n${table(['CHECK', 'NAME', 'DETAIL'], failing.map(itemRow))}`);
      }
      return ok ? EXIT.ok : EXIT.failed;
    }),
  );

  withConnectionFlags(program.command('doctor').description("the operations guide's troubleshooting checklist; exit 1 when a check fails")).action(
    (options: ConnectionFlags) =>
      runCommand(options.json, async () => {
        const { systemCheck } = await request(connectionFrom(options), DoctorDocument, {});
        if (options.json) {
          printJson(systemCheck);
        } else {
          for (const group of systemCheck.groups) {
            console.log(`${tone(group.status)}  ${paint('bold', group.title)}`);
            console.log(
              table(
                ['  STATUS', 'NAME', 'DETAIL'],
                group.items.map((item) => [`  ${tone(item.status)}`, item.name, item.fix && item.status !== 'PASS' ? `${item.detail} — fix: ${item.fix}` : item.detail]),
              ),
            );
            console.log('');
          }
          console.log(`Overall: ${tone(systemCheck.status)} (${Math.round(systemCheck.durationMs)} ms)`);
        }
        return systemCheck.status === 'FAIL' ? EXIT.failed : EXIT.ok;
      }),
  );
}
