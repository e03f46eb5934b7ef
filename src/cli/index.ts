#!/usr/bin/env node
/**
 * The `jobscope` command: `start` serves jobscope from the team's config file; the other
 * commands talk to a running server through the typed documents in operations/ (README: "The CLI").
 * Arguments are parsed by commander (14: the last major for Node 20).
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { packagePath } from '../paths.js';
import { registerActions } from './commands/actions.js';
import { registerEnqueue } from './commands/enqueue.js';
import { registerHealth } from './commands/health.js';
import { registerJobs } from './commands/jobs.js';
import { registerStats } from './commands/stats.js';
import { registerTail } from './commands/tail.js';
import { EXIT } from './errors.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError(`--port must be a port number, got "${text}"`);
  return port;
}

const program = new Command('jobscope')
  .description('Observe and control background jobs on Upstash QStash')
  .version(version(), '-v, --version', "jobscope's version")
  .showHelpAfterError('(jobscope --help lists the commands; jobscope <command> --help its options)')
  // Every usage error (unknown command or flag, a bad value) exits 2; --help and --version 0.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage))
  .addHelpText(
    'after',
    '\nExit status: 0 ok, 1 unhealthy / a check failed / the server refused the action, 2 usage error,\n3 not found, 4 missing or wrong API key, 5 server unreachable or failing. (start: 1 bad configuration.)',
  );

program.on('command:*', ([name]: string[]) => program.error(`jobscope: unknown command "${name}"`, { exitCode: EXIT.usage }));

program
  .command('start')
  .description('serve GraphQL, the worker endpoints, health and metrics')
  .option('-c, --config <file>', 'config file (default: jobscope.config.{ts,mts,js,mjs,cjs} here, if any)')
  .option('-p, --port <port>', 'port (default: PORT, the config\'s port, or 4000)', parsePort)
  .option('--host <host>', 'interface to bind (default: HOST, the config\'s host, or 0.0.0.0)')
  .action(async (options: { config?: string; port?: number; host?: string }) => {
    // Loaded only to run: --help, --version and usage errors answer without loading the server.
    const { start } = await import('./commands/start.js');
    await start(options);
  });

const rollups = program
  .command('rollups')
  .description('the statistics rollups')
  .action(() => rollups.error('jobscope: rollups needs a subcommand: rebuild', { exitCode: EXIT.usage }));
rollups
  .command('rebuild')
  .description('recompute the statistics rollups from job_executions (after a COPY, a restore or writes with triggers disabled)')
  .option('-c, --config <file>', 'config file naming the database')
  .action(async (options: { config?: string }) => {
    const { rebuildRollupsCommand } = await import('./commands/rollups.js');
    await rebuildRollupsCommand(options);
  });

registerHealth(program);
registerStats(program);
registerJobs(program);
registerActions(program);
registerEnqueue(program);
registerTail(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  // By name: the classes live in modules this entry does not load before it has to.
  if (error instanceof Error && (error.name === 'ConfigError' || error.name === 'MigrationError')) {
    // Expected failures (a bad config file, a guide table that cannot be adopted): the reason, no stack.
    console.error(error.message);
  } else {
    console.error('jobscope could not start:', error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
