import type { Command } from 'commander';
import { subscribe } from '../client.js';
import { connectionFrom, filterFrom, parseCount, withConnectionFlags, withFilterFlags, type ConnectionFlags } from '../flags.js';
import { TailDocument } from '../gql/graphql.js';
import { printJson, runCommand, tone } from '../output.js';

/** `tail`: the jobEvents subscription, one line per event, until Ctrl-C (or `--count` events). */
export function registerTail(program: Command): void {
  withConnectionFlags(
    withFilterFlags(program.command('tail').description('job events as they happen, one line each (Ctrl-C stops)')).option(
      '--count <n>',
      'stop after this many events',
      parseCount,
    ),
  ).action((options: ConnectionFlags & { count?: number } & Record<string, unknown>) =>
    runCommand(options.json, async () => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      let seen = 0;
      await subscribe(
        connectionFrom(options),
        TailDocument,
        { filter: filterFrom(options) },
        ({ jobEvents: e }) => {
          if (options.json) printJson(e);
          else console.log([e.occurredAt, tone(e.type).padEnd(9), e.jobType, e.jobId, `retry ${e.retryCount}`, e.error ?? ''].join('  ').trimEnd());
          seen += 1;
          return options.count !== undefined && seen >= options.count ? 'stop' : undefined;
        },
        stop.signal,
      );
    }),
  );
}
