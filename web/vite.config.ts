import { defineConfig } from "vite";

// The gateway serves dist/ at "/" with /assets/* cached immutably (hashed names).
// `npm run dev` proxies the API and the WebSocket to a local gateway
// (DOJO_BASE_URL, default http://127.0.0.1:8080).
const target = process.env.DOJO_BASE_URL || "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    // The editor is a lazily loaded chunk; only the shell counts towards the initial budget.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/api/v1/ws": { target: target.replace(/^http/, "ws"), ws: true },
      "/api": { target, changeOrigin: false },
    },
  },
});
