export default function Home() {
  return (
    <main>
      <h1>my app</h1>
      <p>
        Jobs: <a href="/jobscope/graphql">GraphiQL</a>, <a href="/jobscope/health/jobs">health</a>.
      </p>
    </main>
  );
}
