/**
 * The Pulumi program's entry point (package.json `main`). Pulumi exports what
 * the returned promise resolves to as the stack's outputs.
 */
import { main } from "./program";

export = main();
