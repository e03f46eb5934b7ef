import { useEffect, useState } from 'preact/hooks';

/** Where the page is: hash routes (`#/runs?status=FAILED`), so the server serves one file. */
export interface Location {
  path: string;
  params: URLSearchParams;
}

const read = (): Location => {
  const hash = location.hash.replace(/^#/, '') || '/';
  const q = hash.indexOf('?');
  return { path: q < 0 ? hash : hash.slice(0, q), params: new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)) };
};

export function useLocation(): Location {
  const [where, setWhere] = useState(read);
  useEffect(() => {
    const update = () => setWhere(read());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return where;
}

export const href = (path: string, params?: URLSearchParams): string => `#${path}${params && [...params].length > 0 ? `?${params}` : ''}`;

export function navigate(path: string, params?: URLSearchParams): void {
  location.hash = href(path, params);
}
