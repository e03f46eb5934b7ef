#!/usr/bin/env node
/**
 * The `jobscope` command. `start` serves jobscope from the team's config file; more commands
 * arrive with the CLI issue. Arguments are parsed by Node's own `util.parseArgs`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { packagePath } from '../paths.js';

const USAGE = `Usage: jobscope <command> [options]

Commands:
  start            serve GraphQL, the worker endpoints, health and metrics
  rollups rebuild  recompute the statistics rollups from job_executions (after a COPY,
                   a restore or writes with triggers disabled)

Options of start (and -c of rollups rebuild, for the database to open):
  -c, --config <file>   config file (default: jobscope.config.{ts,mts,js,mjs,cjs} here, if any)
  -p, --port <port>     port (default: PORT, the config's port, or 4000)
      --host <host>     interface to bind (default: HOST, the config's host, or 0.0.0.0)

  -h, --help            this text
  -v, --version         jobscope's version

Exit status: 0 ok, 1 bad configuration or start-up failure, 2 usage error.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function usageError(message: string): never {
  console.error(`jobscope: ${message}\n\n${USAGE}`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.version) {
    console.log(version());
    return;
  }
  const [command, ...extra] = positionals;
  if (values.help || command === undefined || command === 'help') {
    console.log(USAGE);
    return;
  }
  if (command === 'rollups') {
    if (extra[0] !== 'rebuild') usageError(extra[0] === undefined ? 'rollups needs a subcommand: rebuild' : `unknown rollups subcommand "${extra[0]}"`);
    if (extra.length > 1) usageError(`unexpected argument "${extra[1]}"`);
    if (values.port !== undefined || values.host !== undefined) usageError('rollups rebuild takes only --config');
    const { rebuildRollupsCommand } = await import('./commands/rollups.js');
    await rebuildRollupsCommand({ config: values.config });
    return;
  }
  if (command !== 'start') usageError(`unknown command "${command}"`);
  if (extra.length > 0) usageError(`unexpected argument "${extra[0]}"`);
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) usageError(`--port must be a port number, got "${values.port}"`);
  }
  // Loaded only to run: --help, --version and usage errors answer without loading the server.
  const { start } = await import('./commands/start.js');
  await start({ config: values.config, port, host: values.host });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // By name: the classes live in modules this entry does not load before it has to.
  if (error instanceof Error && (error.name === 'ConfigError' || error.name === 'MigrationError')) {
    // Expected failures (a bad config file, a guide table that cannot be adopted): the reason, no stack.
    console.error(error.message);
  } else {
    console.error('jobscope could not start:', error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
