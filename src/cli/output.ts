import { styleText } from 'node:util';
import { CliError, EXIT, type ExitCode } from './errors.js';

/** Colour only for a person at a terminal: never into a pipe or file, never under NO_COLOR. */
export const colourOn = (stream: NodeJS.WriteStream = process.stdout): boolean =>
  stream.isTTY === true && (process.env['NO_COLOR'] ?? '') === '' && process.env['TERM'] !== 'dumb';

type Style = Parameters<typeof styleText>[0];

export const paint = (style: Style, text: string, stream?: NodeJS.WriteStream): string => (colourOn(stream) ? styleText(style, text) : text);

/** The colour of a status, verdict or check word. */
const TONE: Record<string, Style> = {
  COMPLETED: 'green',
  HEALTHY: 'green',
  PASS: 'green',
  FAILED: 'red',
  UNHEALTHY: 'red',
  FAIL: 'red',
  RETRYING: 'yellow',
  WARN: 'yellow',
  PROCESSING: 'cyan',
  CANCELLED: 'gray',
};

export const tone = (word: string): string => (TONE[word] ? paint(TONE[word], word) : word);

/** Visible width: the colour codes take no columns. */
// eslint-disable-next-line no-control-regex
const width = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '').length;

/**
 * Rows under a header, each column as wide as its widest cell, two spaces apart: what `ps` and
 * `kubectl get` print, readable by a person and by `awk` (cells hold no newlines).
 */
export function table(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [header.map((h) => paint('bold', h)), ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell).replace(/[\r\n\t]+/g, ' '))))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => width(row[i] ?? ''))));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell)))).join('  ')).join('\n');
}

/** `Key: value` lines with the keys aligned. */
export function fields(pairs: [string, string | number | null | undefined][]): string {
  const pad = Math.max(...pairs.map(([key]) => key.length)) + 1;
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(pad + 1)}${value === null || value === undefined ? '-' : value}`).join('\n');
}

export const seconds = (s: number | null | undefined): string | null => (s === null || s === undefined ? null : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);
export const percent = (rate: number): string => `${(rate * 100).toFixed(1)} %`;

export const printJson = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

/** Runs a command body: its exit status, and a CliError as one line on stderr (and a JSON document with --json). */
export async function runCommand(json: boolean | undefined, body: () => Promise<ExitCode | void>): Promise<never> {
  let code: ExitCode;
  try {
    code = (await body()) ?? EXIT.ok;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    if (json) printJson({ error: { message: error.message, code: error.code ?? null, exitCode: error.exitCode } });
    process.stderr.write(`jobscope: ${error.message}${error.code ? ` (${error.code})` : ''}\n`);
    code = error.exitCode;
  }
  process.exitCode = code;
  // Let stdout drain before the process ends (a pipe may be slow to take a long table).
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
