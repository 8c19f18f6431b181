// Prints what the catalogue's version says, and the heap the limit allows.
const v8 = require("v8");
console.log(`Node.js ${process.versions.node.split(".")[0]}`);
console.log(`max-heap-mib ${Math.round(v8.getHeapStatistics().heap_size_limit / 1048576)}`);
