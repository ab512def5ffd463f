// ESLint for the whole repository; Prettier owns formatting (eslint-config-prettier
// turns off the rules that would fight it). Pulumi's plugin needs type
// information, so it runs on the code that handles Outputs: the library, the
// stack programs and the Deployments program.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "dist/", "docs/", "examples/*/node_modules/", "examples/*/bin/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
            eqeqeq: ["error", "always"],
            "no-console": "off",
        },
    },
    {
        files: ["index.ts", "components/**/*.ts", "stacks/**/*.ts", "deployments/**/*.ts", "policy/**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { pulumi },
        rules: {
            "pulumi/no-output-in-template-literal": "error",
            "pulumi/no-output-instance-in-template-literal": "error",
        },
    },
    {
        // Tests and the mock engine reach into the SDK's monitor and chai's
        // property assertions (`expect(x).to.exist`) are expressions.
        files: ["tests/**/*.ts", "tools/engine/**/*.ts", "bench/**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-expressions": "off",
        },
    },
    prettier,
);
