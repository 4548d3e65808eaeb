import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The gateway serves `dist/` at `/` under a policy that allows no inline code, so the build
// must emit files only (Vite's module-preload polyfill goes into the bundle, not the page).
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", assetsInlineLimit: 0, sourcemap: false },
  server: { proxy: { "/v1": "http://127.0.0.1:8000" } },
});
