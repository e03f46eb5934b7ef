import type { CodegenConfig } from '@graphql-codegen/cli';

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
    'test/gql/': {
      documents: ['src/graphql/operations/*.graphql'],
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
    },
    // The dashboard's own operations, as strings: the browser sends them without graphql-js's printer.
    'src/dashboard/gql/': {
      documents: ['src/dashboard/operations/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumType: 'string-literal',
      },
    },
  },
};

export default config;
