import { defineConfig } from 'drizzle-kit';

// drizzle-kit only needs a database for `migrate`/`push`; `generate` diffs the schema files.
export default process.env.DATABASE_URL
  ? defineConfig({
      dialect: 'postgresql',
      schema: './src/db/schema.ts',
      out: './drizzle',
      dbCredentials: { url: process.env.DATABASE_URL },
    })
  : defineConfig({
      dialect: 'postgresql',
      driver: 'pglite',
      schema: './src/db/schema.ts',
      out: './drizzle',
      dbCredentials: { url: process.env.PGLITE_DIR ?? '.data/pglite' },
    });
