// attack: TCP connects from Node.js to the host's loopback services: the
// harness's listener (port on stdin) and the usual service ports.
// why: as net_tcp_loopback.py: the sandbox's network namespace has only its
//      own `lo`, so nothing on the host's loopback answers; the harness also
//      checks its listener saw no connection.
// input@0: {TCP_PORT}
// expect: verdict=OK stdout-contains=ALL-BLOCKED stdout-not-contains=CONNECTED
const net = require("net");

const port = Number(require("fs").readFileSync(0, "utf8").trim());
const ports = [port, 22, 5432, 55432, 6379, 56379, 8080, 7001, 7002, 7003, 7004, 9101];
let pending = ports.length, ok = true;
for (const p of ports) {
  const s = net.connect({ host: "127.0.0.1", port: p, timeout: 500 });
  const done = (what) => {
    s.destroy();
    console.log(`${what} 127.0.0.1:${p}`);
    if (--pending === 0) console.log(ok ? "ALL-BLOCKED" : "SOME-CONNECTED");
  };
  s.on("connect", () => { ok = false; done("CONNECTED"); });
  s.on("error", (e) => done(`blocked (${e.code})`));
  s.on("timeout", () => done("blocked (timeout)"));
}
