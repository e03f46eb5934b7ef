/**
 * Name of the database every PostgreSQL test database of one run is copied from (migrated once
 * per run). Each run has its own, so two checkouts can run their suites on one server at once.
 */
export function templateDatabaseName(): string {
  return `jobscope_test_template_${process.pid}_${Date.now().toString(36)}`;
}

export function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
