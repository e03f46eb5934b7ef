import SchemaBuilder from '@pothos/core';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import RelayPlugin from '@pothos/plugin-relay';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { relations } from '../db/relations.js';
import type { GraphQLContext } from './context.js';

/** The one SchemaBuilder. Each type module registers its objects and fields on it. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DrizzleRelations: typeof relations;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [RelayPlugin, DrizzlePlugin],
  defaultFieldNullability: false,
  relay: {},
  drizzle: { client: (ctx) => ctx.jobs.db, getTableConfig, relations },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
