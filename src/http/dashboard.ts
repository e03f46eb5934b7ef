import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Response as FetchResponse } from '@whatwg-node/fetch';
import { packagePath } from '../paths.js';
import { json } from './respond.js';

/** Where `npm run build` writes the dashboard (scripts/bundle.mjs). */
export const DASHBOARD_DIR = packagePath('dist', 'dashboard');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  /** Every dashboard file is text (the script, its styles, the page). */
  body: string;
  type: string;
  etag: string;
}

/**
 * The dashboard's static files: `GET /` is its page, `GET /dashboard/<file>` its script and
 * styles, every one under the base path. The page learns the base path (and whether it must ask
 * for an API key before its first request) from `<meta>` tags written into it here, so one build serves the standalone server and every mount prefix. The files are
 * read once, on the first request (tens of KiB); a missing build answers 404 with how to
 * make it, not a 500.
 */
export function createDashboard(options: { basePath: string; apiKeysRequired: boolean; dir?: string }) {
  const dir = options.dir ?? DASHBOARD_DIR;
  let assets: Map<string, Asset> | undefined;
  const load = (): Map<string, Asset> => {
    if (assets) return assets;
    const loaded = new Map<string, Asset>();
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return loaded; // not built: every path answers 404 until a restart after `npm run build`
    }
    for (const name of names) {
      const type = CONTENT_TYPES[extname(name)];
      if (!type) continue;
      let body = readFileSync(join(dir, name), 'utf8');
      if (name === 'index.html') {
        body = body
          .replaceAll('%JOBSCOPE_BASE%', options.basePath.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`))
          .replaceAll('%JOBSCOPE_AUTH%', options.apiKeysRequired ? 'required' : 'open');
      }
      loaded.set(name, { body, type, etag: `"${body.length.toString(16)}-${hash(body)}"` });
    }
    return (assets = loaded);
  };

  /** Answers `path` (below the base path: `/` or `/dashboard/…`), or undefined when it is no dashboard file. */
  return (request: Request, path: string): Response | undefined => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    const name = path === '/' ? 'index.html' : path.slice('/dashboard/'.length);
    const asset = load().get(name);
    if (!asset) {
      return name === 'index.html' ? json(404, { error: 'The dashboard is not built: run `npm run build`. GraphiQL is at /graphql.' }) : undefined;
    }
    const headers = {
      'content-type': asset.type,
      etag: asset.etag,
      // Revalidated on every load (a 304 costs nothing): the file names carry no hash.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    };
    if (request.headers.get('if-none-match') === asset.etag) return new FetchResponse(null, { status: 304, headers });
    return new FetchResponse(request.method === 'HEAD' ? null : asset.body, { status: 200, headers });
  };
}

/** FNV-1a over the UTF-16 code units: an ETag, not a security property. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
}
