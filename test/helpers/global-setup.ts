/** Runs once before the suite; database templates are prepared here once the db layer exists. */
export default async function setup(): Promise<void> {}
