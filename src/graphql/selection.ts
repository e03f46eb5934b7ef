import { Kind, type GraphQLResolveInfo, type SelectionNode } from 'graphql';

/**
 * The names of the fields an operation selects at `paths` below the field being resolved (e.g.
 * `['nodes']` and `['edges', 'node']` under a connection), through inline fragments and named
 * ones. Directives are not evaluated: a field under `@skip` counts as selected, which only ever
 * loads more than needed, never less.
 */
export function selectedFields(info: GraphQLResolveInfo, paths: readonly (readonly string[])[]): Set<string> {
  const names = new Set<string>();
  const visit = (selections: readonly SelectionNode[], path: readonly string[]): void => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD) {
        if (path.length === 0) names.add(selection.name.value);
        else if (selection.name.value === path[0] && selection.selectionSet) visit(selection.selectionSet.selections, path.slice(1));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet.selections, path);
      } else {
        const fragment = info.fragments[selection.name.value];
        if (fragment) visit(fragment.selectionSet.selections, path);
      }
    }
  };
  for (const node of info.fieldNodes) {
    for (const path of paths) visit(node.selectionSet?.selections ?? [], path);
  }
  return names;
}
