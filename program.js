// The entry point Pulumi runs (package.json "main"). Compiling index.ts and its modules through ts-node
// on every preview costs the program process about 0.7 s, so the program runs from dist/ when `npm run
// build` compiled it from exactly the sources beside this file (build-stamp.js); after any edit, before a
// build, it runs index.ts through ts-node as Pulumi does by default.
"use strict";
module.exports = require("./build-stamp.js").load("index.js", "index.ts");
