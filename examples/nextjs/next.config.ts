import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // jobscope runs as Node loads it, not bundled: PGlite finds its wasm and data files next to its
  // own module, and postgres.js, winston and jiti stay plain node_modules.
  serverExternalPackages: ['jobscope'],
};

export default nextConfig;
