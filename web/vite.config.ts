import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The SPA's build. Nothing is inlined into index.html (no inline script, no inline style, no
 * module-preload polyfill), so the BFF's CSP can stay `script-src 'self'`. In development the
 * Vite server proxies `/bff` and `/api` to the BFF, keeping cookies same-origin.
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
    proxy: {
      '/bff': { target: bff, changeOrigin: false, xfwd: true },
      '/api': { target: bff, changeOrigin: false, xfwd: true },
    },
  },
});
