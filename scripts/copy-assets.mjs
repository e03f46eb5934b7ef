// The files tsc does not emit but dist/ reads at run time: the example GraphQL operations that
// GraphiQL opens with (src/graphql/operations/*.graphql).
import { cpSync } from 'node:fs';

cpSync(new URL('../src/graphql/operations', import.meta.url), new URL('../dist/graphql/operations', import.meta.url), {
  recursive: true,
  filter: (source) => !/\.[cm]?ts$/.test(source),
});
