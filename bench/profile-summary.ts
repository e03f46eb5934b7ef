/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, BENCH_CPU_PROF=<dir>) by package: self and
 * inclusive time of each, as a share of the busy (non-idle) samples. Functions in dist/ are
 * mapped to the package esbuild bundled them from by its `// node_modules/<pkg>/…` and `// src/…`
 * marker comments; everything else by its path.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top functions, default 25]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** For a bundled file: the sorted line numbers where a source's section begins, and its name. */
const sections = new Map<string, { line: number; name: string }[]>();

function packageOfPath(path: string): string {
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = /(?:^|\/)src\/(.+)$/.exec(path);
  if (src) return `jobscope:${src[1]!.split('/').slice(0, -1).join('/') || '.'}`;
  return path;
}

function sectionsOf(file: string): { line: number; name: string }[] {
  let list = sections.get(file);
  if (!list) {
    list = [];
    try {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((text, i) => {
        const marker = /^\/\/ ((?:node_modules|src)\/\S+)$/.exec(text);
        if (marker) list!.push({ line: i, name: packageOfPath(marker[1]!) });
      });
    } catch {
      // not readable: categorised by its path
    }
    sections.set(file, list);
  }
  return list;
}

function categorise(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return '(program)';
    return `(native ${functionName || 'anonymous'})`;
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.includes('/dist/')) {
    const list = sectionsOf(path);
    let name: string | undefined;
    for (const section of list) {
      if (section.line > frame.lineNumber) break;
      name = section.name;
    }
    if (name) return name;
  }
  return packageOfPath(path);
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const category = new Map(profile.nodes.map((n) => [n.id, categorise(n.callFrame)]));

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const functions = new Map<string, number>();
let busy = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const cat = category.get(id)!;
  if (cat === '(idle)') return;
  busy += dt;
  self.set(cat, (self.get(cat) ?? 0) + dt);
  const frame = byId.get(id)!.callFrame;
  const fn = `${frame.functionName || '(anonymous)'} ${cat}:${frame.lineNumber + 1}`;
  functions.set(fn, (functions.get(fn) ?? 0) + dt);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const c = category.get(at)!;
    if (!seen.has(c)) {
      seen.add(c);
      inclusive.set(c, (inclusive.get(c) ?? 0) + dt);
    }
  }
});

const pct = (us: number) => `${((100 * us) / busy).toFixed(1)} %`;
console.log(`${file}: ${(busy / 1000).toFixed(0)} ms busy`);
console.table(
  [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30)
    .map(([name, us]) => ({ package: name, self: pct(us), inclusive: pct(inclusive.get(name) ?? us) })),
);
console.table(
  [...functions.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(topArg ?? 25))
    .map(([name, us]) => ({ function: name, self: pct(us) })),
);
