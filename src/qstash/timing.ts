/** Durations, QStash's retry backoff and the `Upstash-Retry-Delay` expression language. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Parses a QStash duration such as `10s`, `2m`, `1h30m` or `1d` (a bare integer counts as
 * seconds) into milliseconds; `undefined` when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!DURATION.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(DURATION_PART)) {
    total += Number(amount) * (UNIT_MS[unit ?? 's'] ?? 1000);
  }
  return total;
}

/** QStash's default backoff before retry `n` (n from 1): min(86400, e^(2.5·n)) seconds, in ms. */
export function defaultBackoffMs(retry: number): number {
  return Math.min(86_400, Math.exp(2.5 * retry)) * 1000;
}

/**
 * A `Retry-After` answer header (delta seconds or an HTTP date) in milliseconds from `now`;
 * `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

type Token =
  | { kind: 'number'; value: number }
  | { kind: 'name'; value: string }
  | { kind: 'op'; value: string };

const FUNCTIONS: Record<string, (...args: number[]) => number> = {
  pow: (a = 0, b = 0) => a ** b,
  sqrt: (a = 0) => Math.sqrt(a),
  abs: (a = 0) => Math.abs(a),
  exp: (a = 0) => Math.exp(a),
  floor: (a = 0) => Math.floor(a),
  ceil: (a = 0) => Math.ceil(a),
  round: (a = 0) => Math.round(a),
  min: (...args) => Math.min(...args),
  max: (...args) => Math.max(...args),
};

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_]\w*)|([-+*/%(),^]))/y;
  let index = 0;
  while (index < source.length) {
    if (/^\s*$/.test(source.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(source);
    if (!match) throw new Error(`unexpected character at ${index}`);
    index = pattern.lastIndex;
    if (match[1] !== undefined) tokens.push({ kind: 'number', value: Number(match[1]) });
    else if (match[2] !== undefined) tokens.push({ kind: 'name', value: match[2] });
    else tokens.push({ kind: 'op', value: match[3] ?? '' });
  }
  return tokens;
}

type Expression = (retried: number) => number;

/**
 * Compiles an `Upstash-Retry-Delay` expression (milliseconds; the variable `retried` counts the
 * retries made so far, 0 before the first retry; functions pow, sqrt, abs, exp, floor, ceil,
 * round, min, max). Throws on a syntax error or an unknown name.
 */
export function compileRetryDelay(source: string): Expression {
  const tokens = tokenize(source);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const isOp = (value: string): boolean => {
    const token = peek();
    return token?.kind === 'op' && token.value === value;
  };
  const expect = (value: string): void => {
    if (!isOp(value)) throw new Error(`expected "${value}"`);
    position++;
  };

  const primary = (): Expression => {
    const token = peek();
    if (!token) throw new Error('unexpected end of expression');
    position++;
    if (token.kind === 'number') return () => token.value;
    if (token.kind === 'name') {
      if (isOp('(')) {
        const fn = FUNCTIONS[token.value];
        if (!fn) throw new Error(`unknown function "${token.value}"`);
        position++;
        const args: Expression[] = [];
        if (!isOp(')')) {
          args.push(additive());
          while (isOp(',')) {
            position++;
            args.push(additive());
          }
        }
        expect(')');
        return (retried) => fn(...args.map((arg) => arg(retried)));
      }
      if (token.value !== 'retried') throw new Error(`unknown variable "${token.value}"`);
      return (retried) => retried;
    }
    if (token.value === '(') {
      const inner = additive();
      expect(')');
      return inner;
    }
    if (token.value === '-') {
      const operand = power();
      return (retried) => -operand(retried);
    }
    throw new Error(`unexpected "${token.value}"`);
  };
  const power = (): Expression => {
    const base = primary();
    if (!isOp('^')) return base;
    position++;
    const exponent = power();
    return (retried) => base(retried) ** exponent(retried);
  };
  const multiplicative = (): Expression => {
    let left = power();
    while (isOp('*') || isOp('/') || isOp('%')) {
      const op = (peek() as Token).value;
      position++;
      const l = left;
      const r = power();
      left = op === '*' ? (n) => l(n) * r(n) : op === '/' ? (n) => l(n) / r(n) : (n) => l(n) % r(n);
    }
    return left;
  };
  const additive = (): Expression => {
    let left = multiplicative();
    while (isOp('+') || isOp('-')) {
      const op = (peek() as Token).value;
      position++;
      const l = left;
      const r = multiplicative();
      left = op === '+' ? (n) => l(n) + r(n) : (n) => l(n) - r(n);
    }
    return left;
  };

  const expression = additive();
  if (position !== tokens.length) throw new Error(`unexpected "${String(tokens[position]?.value)}"`);
  return (retried) => {
    const value = expression(retried);
    return Number.isFinite(value) ? Math.min(Math.max(value, 0), 86_400_000) : 86_400_000;
  };
}
