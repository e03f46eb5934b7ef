/**
 * Every GraphQL example in the README is valid against the committed schema: a reader who pastes
 * one into GraphiQL gets an answer, not a validation error (each operation checked on its own,
 * so a block may hold several anonymous ones).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, Kind, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/build.js';

const schema = buildSchema(readFileSync(join(ROOT, 'schema.graphql'), 'utf8'));
const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!);

describe('the README', () => {
  it('has GraphQL examples', () => expect(blocks.length).toBeGreaterThan(10));
  it.each(blocks.map((block) => [block.split('\n')[0]!.slice(0, 70), block]))('%s… is valid against schema.graphql', (_title, block) => {
    const document = parse(block);
    const problems = document.definitions.flatMap((definition) => validate(schema, { kind: Kind.DOCUMENT, definitions: [definition] }).map((e) => e.message));
    expect(problems).toEqual([]);
  });
});
