import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { viteProxyTable } from '../dev/vite-proxy.js';

/**
 * The SPA's build. Nothing is inlined into index.html (no inline script, no inline style, no
 * module-preload polyfill), so the BFF's CSP can stay `script-src 'self'`. In development the
 * Vite server proxies `/bff` and every `API_ROUTES` prefix to the BFF, WebSockets included,
 * keeping cookies same-origin (`npm run dev` sets API_ROUTES before it starts Vite).
 */
const bff = process.env.BFF_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  server: {
    host: '127.0.0.1',
    port: Number(process.env.WEB_PORT ?? 5173),
    strictPort: true,
    proxy: viteProxyTable(bff, process.env.API_ROUTES),
  },
});
