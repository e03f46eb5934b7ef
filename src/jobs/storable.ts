import type { PayloadPath } from './errors.js';

/**
 * PostgreSQL refuses two things a JavaScript string can hold: NUL (`\u0000`, in `text` and inside
 * jsonb strings alike) and lone UTF-16 surrogates (jsonb rejects the `\ud800` escape that
 * `JSON.stringify` writes for one). Either makes the whole statement fail, so they are caught at
 * the edge: GraphQL rejects them, a delivery is recorded with them replaced.
 */
export function isStorable(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** NUL, a high surrogate not followed by a low one, or a low one not preceded by a high one (code units, no `u` flag). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** How an error names the problem: `Variable "$input" at payload.subject <this>`. */
export const UNSTORABLE_TEXT = 'contains a NUL character (\\u0000) or an unpaired surrogate, which PostgreSQL cannot store';

/** What stands in for what PostgreSQL cannot store: U+FFFD, the replacement character. */
export const REPLACEMENT = '\uFFFD';

/** `text` with every NUL and lone surrogate replaced by U+FFFD. */
export function storableText(text: string): string {
  return isStorable(text) ? text : text.replace(UNSTORABLE_ALL, REPLACEMENT);
}

/** A plain JSON-like value; walked without recursion, so a deeply nested body cannot overflow the stack. */
type Walkable = unknown;

/**
 * Where in `value` a string (or an object key) PostgreSQL cannot store is, outermost first; at
 * most `limit` of them. Values that are not plain objects, arrays or strings are left alone.
 */
export function unstorablePaths(value: Walkable, limit = 10): PayloadPath[] {
  const found: PayloadPath[] = [];
  const stack: [unknown, PayloadPath][] = [[value, []]];
  while (stack.length > 0 && found.length < limit) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      if (!isStorable(node)) found.push(path);
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], [...path, i]]);
    } else if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (!isStorable(key)) found.push([...path, key]);
        stack.push([child, [...path, key]]);
      }
    }
  }
  return found;
}

/** A copy of a parsed JSON value with every unstorable string and key made storable (U+FFFD). */
export function storableJson(value: Walkable): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  // Rebuilt through JSON's own walk: the reviver sees every value bottom-up, keys included.
  return JSON.parse(JSON.stringify(value), function (this: Record<string, unknown>, key, child: unknown) {
    const storableKey = storableText(key);
    const fixed = typeof child === 'string' ? storableText(child) : child;
    if (storableKey !== key) {
      this[storableKey] = fixed;
      return undefined;
    }
    return fixed;
  }) as unknown;
}
