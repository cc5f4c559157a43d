import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["dist/", "node_modules/", ".bench/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            // Pulumi resources are often created for their side effect of being registered.
            "no-new": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
        },
    },
    {
        files: ["**/*.mjs"],
        languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", Buffer: "readonly" } },
    },
    {
        // Tests read loosely typed inputs the mocks hand back.
        files: ["tests/**/*.ts", "e2e/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-require-imports": "off" },
    },
);
