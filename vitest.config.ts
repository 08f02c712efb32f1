import { fileURLToPath } from "node:url";
import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

/**
 * One vitest project per workspace. Tests run against sibling packages' TypeScript sources
 * through the `@umbra/source` export condition, so no build is needed before testing.
 */
const workspaces = [
  ["@umbra/protocol", "packages/protocol"],
  ["@umbra/proto", "packages/proto"],
  ["@umbra/compare", "packages/compare"],
  ["@umbra/variant", "packages/variant"],
  ["@umbra/sdk", "packages/sdk"],
  ["@umbra/testing", "packages/testing"],
  ["@umbra/collector", "apps/collector"],
  ["@umbra/cli", "apps/cli"],
  ["@umbra/demo", "apps/demo"],
  ["@umbra/e2e", "test"],
] as const;

const conditions = ["@umbra/source", ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@umbra/source"] } },
  test: {
    passWithNoTests: true,
    projects: workspaces.map(([name, dir]) => ({
      extends: true,
      test: {
        name,
        root: fileURLToPath(new URL(`./${dir}`, import.meta.url)),
        include: dir === "test" ? ["**/*.test.ts"] : ["src/**/*.test.ts", "*.test.ts"],
        exclude: ["**/node_modules/**", "**/dist/**"],
        environment: "node",
        testTimeout: dir === "test" ? 300_000 : 60_000,
        hookTimeout: 60_000,
        passWithNoTests: true,
      },
    })),
  },
});
