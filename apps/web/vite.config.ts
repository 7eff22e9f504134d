import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// The app is served by `clipchat serve` from dist/; in dev, API and WebSocket calls go to
// a server on :8080. mediabunny and the capture engine are only reached through the lazily
// created worker, so the first page load stays small.
export default defineConfig({
  plugins: [preact()],
  base: './',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': 'http://localhost:8080',
      '/media': 'http://localhost:8080',
      '/ws': { target: 'ws://localhost:8080', ws: true },
    },
  },
});
