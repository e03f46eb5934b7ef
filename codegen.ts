import type { CodegenConfig } from '@graphql-codegen/cli';

/** The client preset as every target uses it, over the given operations. */
const typedDocuments = (documents: string[]): Exclude<CodegenConfig['generates'][string], unknown[] | string> => ({
  documents,
  preset: 'client',
  presetConfig: { fragmentMasking: false },
  config: {
    // NodeNext: imports with extensions (TS2835 otherwise), and `import type` for types.
    emitLegacyCommonJSImports: false,
    useTypeImports: true,
    // DateTime travels as an ISO string, JSON as whatever JSON the field holds.
    strictScalars: true,
    scalars: { DateTime: 'string', JSON: 'unknown' },
    enumType: 'string-literal',
  },
});

/**
 * Typed documents for jobscope's example operations (the ones GraphiQL shows), generated from
 * the committed schema.graphql: `npm run codegen`. The tests run these documents, so a frontend
 * team can copy this file, point `documents` at their own operations and get the same types.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: false,
  // Documents per target: codegen adds a root `documents` to every target's own.
  generates: {
    'test/gql/': typedDocuments(['src/graphql/operations/*.graphql']),
    // The CLI's own operations: only what its commands ask for.
    'src/cli/gql/': typedDocuments(['src/cli/operations/*.graphql']),
    // The dashboard's own operations, as strings: the browser sends them without graphql-js's printer.
    'src/dashboard/gql/': (() => {
      const target = typedDocuments(['src/dashboard/operations/*.graphql']);
      return { ...target, config: { ...(target as { config: object }).config, documentMode: 'string' } };
    })(),
  },
};

export default config;
