/**
 * Prints the Pothos schema to schema.graphql (sorted), or checks that the committed file matches.
 *
 *   npm run schema:print   writes schema.graphql
 *   npm run schema:check   exits 1 when schema.graphql differs from the code
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../src/graphql/schema.js';

const file = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const printed = `${printSchema(lexicographicSortSchema(schema))}\n`;
const mode = process.argv[2] ?? 'print';

if (mode === 'print') {
  writeFileSync(file, printed);
  console.log(`Wrote ${file}`);
} else if (mode === 'check') {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // Missing file: reported as drift below.
  }
  if (committed !== printed) {
    const firstDiff = firstDifferentLine(committed, printed);
    console.error(
      `schema.graphql is out of date with the Pothos schema${firstDiff ? ` (first difference at line ${firstDiff.line}: ` +
        `committed ${JSON.stringify(firstDiff.committed)}, schema ${JSON.stringify(firstDiff.printed)})` : ''}.\n` +
        'Run `npm run schema:print` and commit schema.graphql.',
    );
    process.exit(1);
  }
  console.log('schema.graphql is up to date');
} else {
  console.error(`Unknown mode "${mode}": use print or check`);
  process.exit(2);
}

function firstDifferentLine(a: string, b: string): { line: number; committed: string; printed: string } | undefined {
  const left = a.split('\n');
  const right = b.split('\n');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] !== right[i]) return { line: i + 1, committed: left[i] ?? '<end of file>', printed: right[i] ?? '<end of file>' };
  }
  return undefined;
}
