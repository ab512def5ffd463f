/**
 * The deployments stack's entry point: Pulumi exports what `main` returns as
 * the stack's outputs. Run from `deployments/` (`pulumi up`); it shares the
 * repository's node_modules, so there is one copy of @pulumi/pulumi.
 */
import { main } from "./program";

export = main();
