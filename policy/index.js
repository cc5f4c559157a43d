// The policy pack's entry (policy/package.json "main"): the compiled pack when `npm run build` made it
// from the sources (build-stamp.js), else index.ts through ts-node.
"use strict";
module.exports = require("../build-stamp.js").load("policy/index.js", "policy/index.ts");
