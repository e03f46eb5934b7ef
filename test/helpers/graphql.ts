import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

/** A GraphQL error as it arrives over the wire. */
export interface WireError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GraphQLResponse<TResult> {
  status: number;
  data?: TResult | null;
  errors?: WireError[];
}

export interface RequestOptions<TVariables> {
  variables?: TVariables;
  /** API key, sent as `Authorization: Bearer <key>`. */
  key?: string;
  headers?: Record<string, string>;
}

/**
 * POSTs one operation to /graphql: a typed document from test/gql (result and variables typed
 * by codegen) or a plain string for ad-hoc operations.
 */
export async function graphql<TResult = Record<string, unknown>, TVariables = Record<string, unknown>>(
  baseUrl: string,
  document: TypedDocumentNode<TResult, TVariables> | string,
  options: RequestOptions<TVariables> = {},
): Promise<GraphQLResponse<TResult>> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(options.key !== undefined ? { authorization: `Bearer ${options.key}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({
      query: typeof document === 'string' ? document : print(document),
      variables: options.variables ?? {},
    }),
  });
  const body = (await res.json()) as Omit<GraphQLResponse<TResult>, 'status'>;
  return { status: res.status, ...body };
}

/** The data of a response that must have succeeded; fails with the errors otherwise. */
export async function graphqlData<TResult, TVariables>(
  baseUrl: string,
  document: TypedDocumentNode<TResult, TVariables> | string,
  options: RequestOptions<TVariables> = {},
): Promise<TResult> {
  const response = await graphql(baseUrl, document, options);
  if (response.errors?.length || response.data == null) {
    throw new Error(`GraphQL request failed (HTTP ${response.status}): ${JSON.stringify(response.errors)}`);
  }
  return response.data;
}

/** The `extensions.code` of every error, for compact assertions. */
export const errorCodes = (response: { errors?: readonly WireError[] | undefined }): (string | undefined)[] =>
  (response.errors ?? []).map((e) => e.extensions?.code);
