import { createHash, timingSafeEqual } from 'node:crypto';
import { getOperationAST, GraphQLError } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Config, NamedApiKey } from '../config/index.js';
import type { Actor } from '../jobs/actor.js';
import type { ApiScope, GraphQLContext } from './context.js';

export type { ApiScope } from './context.js';

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** Who a presented key belongs to and what it may do. */
export interface Caller {
  scope: ApiScope;
  actor: Actor;
}

const ANONYMOUS: Caller = Object.freeze({ scope: 'operate', actor: Object.freeze({ kind: 'anonymous' }) });

/**
 * The configured API keys (JOBSCOPE_READ_KEYS, JOBSCOPE_OPERATE_KEYS, or `apiKeys` in a config
 * file). Candidates are compared in constant time against every key: fixed-length SHA-256 digests
 * and `timingSafeEqual`, with no early exit, so neither a key's length nor its position leaks
 * through response times.
 */
export class ApiKeys {
  private readonly keys: { digest: Buffer; caller: Caller }[];

  constructor(keys: Config['apiKeys']) {
    // Operate first: a key listed under both scopes gets the wider one.
    const entry = (scope: ApiScope) => (k: NamedApiKey) => ({
      digest: digest(k.key),
      caller: { scope, actor: { kind: 'api-key' as const, name: k.name } },
    });
    this.keys = [...keys.operate.map(entry('operate')), ...keys.read.map(entry('read'))];
  }

  /** No keys configured: everyone may operate (development only; production refuses to start). */
  get open(): boolean {
    return this.keys.length === 0;
  }

  private readonly byRequest = new WeakMap<Request, Caller | null>();

  /**
   * The caller of an HTTP request, from its `Authorization: Bearer` header; decided once per
   * request (the auth plugin and the context both ask).
   */
  identifyRequest(request: Request): Caller | undefined {
    let caller = this.byRequest.get(request);
    if (caller === undefined) {
      caller = this.identify(bearerToken(request.headers.get('authorization'))) ?? null;
      this.byRequest.set(request, caller);
    }
    return caller ?? undefined;
  }

  /** The caller a presented key identifies; undefined for a missing or unknown key. */
  identify(key: string | undefined): Caller | undefined {
    if (this.open) return ANONYMOUS;
    if (key === undefined || key === '') return undefined;
    const candidate = digest(key);
    let found: Caller | undefined;
    for (const k of this.keys) {
      if (timingSafeEqual(candidate, k.digest) && found === undefined) found = k.caller;
    }
    return found;
  }
}

/** The key in an `Authorization: Bearer <key>` header value. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * The key in a graphql-ws `connection_init` payload. Accepted shapes, first match wins:
 * `{ authorization: 'Bearer <key>' }` (also `Authorization`), `{ headers: { authorization } }`
 * (what some GraphiQL-style clients send) and `{ apiKey: '<key>' }`.
 */
export function keyFromConnectionParams(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const headers = params['headers'] !== null && typeof params['headers'] === 'object' ? (params['headers'] as Record<string, unknown>) : {};
  const header = str(params['authorization']) ?? str(params['Authorization']) ?? str(headers['authorization']) ?? str(headers['Authorization']);
  return header !== undefined ? bearerToken(header) : str(params['apiKey']);
}

export function unauthenticatedError(): GraphQLError {
  return createGraphQLError('Missing or unknown API key: send "Authorization: Bearer <key>"', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });
}

export function forbiddenError(): GraphQLError {
  return createGraphQLError('This API key may only read: mutations need a key from JOBSCOPE_OPERATE_KEYS', {
    extensions: { code: 'FORBIDDEN', http: { status: 403 } },
  });
}

/**
 * Enforces the scopes. Plain HTTP (and SSE) requests without a valid key are refused with 401
 * before their document is even parsed; execution then checks the context's scope, which covers
 * the WebSocket transport too (its key is checked once, at `connection_init`).
 */
export function useApiKeys(keys: ApiKeys): Plugin<GraphQLContext> {
  return {
    onParams({ request, setResult }) {
      if (keys.identifyRequest(request) === undefined) {
        setResult({ errors: [unauthenticatedError()] });
      }
    },
    onExecute({ args, setResultAndStopExecution }) {
      const { scope } = args.contextValue;
      if (scope === undefined) return setResultAndStopExecution({ errors: [unauthenticatedError()] });
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation === 'mutation' && scope !== 'operate') {
        setResultAndStopExecution({ errors: [forbiddenError()] });
      }
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      if (args.contextValue.scope === undefined) setResultAndStopExecution({ errors: [unauthenticatedError()] });
    },
  };
}
