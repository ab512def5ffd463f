import { main } from "ecrpull/stacks";
export = main();
