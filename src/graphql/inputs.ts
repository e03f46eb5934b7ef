import { GraphQLError, visit, type DocumentNode } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { formatPath } from '../jobs/errors.js';
import { isStorable, UNSTORABLE_TEXT, unstorablePaths } from '../jobs/storable.js';

/**
 * GET requests and url-encoded POSTs carry `variables` and `extensions` as JSON text, which Yoga
 * parses with a bare JSON.parse: malformed text became an unexpected error and an HTTP 500. Any
 * error of those parsers that is not already a GraphQLError is the request's fault: 400
 * BAD_REQUEST. JSON POSTs (the fast path) have a parser of Yoga's that does this already.
 */
export function useMalformedParameters(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!requestParser) return;
      const type = request.headers.get('content-type') ?? '';
      if (request.method !== 'GET' && !type.startsWith('application/x-www-form-urlencoded')) return;
      setRequestParser(async (req) => {
        try {
          return await requestParser(req);
        } catch (error) {
          if (error instanceof GraphQLError) throw error;
          throw createGraphQLError(`Malformed request parameters: ${error instanceof Error ? error.message : String(error)}`, {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
      });
    },
  };
}

const unstorableError = (where: string, extensions: Record<string, unknown>) =>
  createGraphQLError(
    `${where} ${UNSTORABLE_TEXT}`,
    { extensions: { code: 'BAD_USER_INPUT', ...extensions, http: { spec: true, status: 400 } } },
  );

/** Whether a document's string literals are all storable; decided once per parsed document (Yoga caches those). */
const literalsStorable = new WeakMap<DocumentNode, boolean>();

function documentStorable(document: DocumentNode): boolean {
  let storable = literalsStorable.get(document);
  if (storable === undefined) {
    storable = true;
    visit(document, {
      StringValue(node) {
        if (!isStorable(node.value)) storable = false;
      },
    });
    literalsStorable.set(document, storable);
  }
  return storable;
}

/** The first unstorable string among the variables, as a BAD_USER_INPUT error; undefined when all are storable. */
function unstorableInput(document: DocumentNode, variables: Record<string, unknown> | null | undefined): GraphQLError | undefined {
  if (!documentStorable(document)) return unstorableError('A string literal in the document', {});
  if (!variables) return undefined;
  for (const [name, value] of Object.entries(variables)) {
    const [path] = unstorablePaths(value, 1);
    if (path) return unstorableError(`Variable "$${name}"${path.length > 0 ? ` at ${formatPath(path)}` : ''}`, { variable: name, path });
  }
  return undefined;
}

/**
 * Rejects, before anything runs, an operation whose variables or string literals hold text
 * PostgreSQL refuses (NUL, unpaired surrogates: see jobs/storable.ts): BAD_USER_INPUT naming the
 * variable and the path inside it, instead of a statement that fails as an unexpected error.
 * Filters, payloads, metadata and job ids all arrive this way, so one check covers them all.
 */
export function useStorableInputs(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = unstorableInput(args.document, args.variableValues);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = unstorableInput(args.document, args.variableValues);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
