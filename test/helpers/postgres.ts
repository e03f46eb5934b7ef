/** Database every PostgreSQL test database is copied from (migrated once per run). */
export const TEMPLATE_DATABASE = 'jobscope_test_template';

export function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
