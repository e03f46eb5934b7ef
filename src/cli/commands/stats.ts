import type { Command } from 'commander';
import { request } from '../client.js';
import { connectionFrom, filterFrom, withConnectionFlags, withFilterFlags, type ConnectionFlags } from '../flags.js';
import { StatsDocument } from '../gql/graphql.js';
import { printJson, runCommand, seconds, table, tone } from '../output.js';

/** `stats`: counts and durations per job type and status (jobStats) over the jobs the filter names. */
export function registerStats(program: Command): void {
  withConnectionFlags(withFilterFlags(program.command('stats').description('jobs per type and status, with p50/p95 durations'), { createdAfter: '24h' })).action(
    (options: ConnectionFlags & Record<string, unknown>) =>
      runCommand(options.json, async () => {
        const { jobStats } = await request(connectionFrom(options), StatsDocument, { filter: filterFrom(options) });
        if (options.json) return printJson(jobStats);
        if (jobStats.length === 0) return console.log('No jobs match.');
        console.log(
          table(
            ['TYPE', 'STATUS', 'COUNT', 'AVG', 'P50', 'P95'],
            jobStats.map((s) => [s.jobType, tone(s.status), s.count, seconds(s.avgDurationSeconds), seconds(s.p50DurationSeconds), seconds(s.p95DurationSeconds)]),
          ),
        );
      }),
  );
}
