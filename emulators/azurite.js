// Starts Azurite (npm package, pinned in package.json) with the arguments given, exactly as its own
// CLI would. With EXIT_WHEN_STDIN_CLOSES=1 it also exits when its parent (the dev host) goes away,
// even if the parent was killed, because the parent holds the other end of stdin.
"use strict";
const path = require("path");
if (process.env.EXIT_WHEN_STDIN_CLOSES === "1") {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
}
const cli = require.resolve("azurite/dist/src/azurite.js", { paths: [__dirname] });
process.argv = [process.argv[0], cli, ...process.argv.slice(2)];
require(cli);
