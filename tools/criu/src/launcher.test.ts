// native/criu-launcher's sibling requests, from a stand-in tool (python3)
// it runs: a pid in use (EEXIST) and a bad request (EINVAL) are refused; a
// free pid is cloned as a child of the launcher's parent (a python3 driver
// here), and that task goes away once the tool that asked for it has gone
// without seizing it (the driver reaps it, bounded).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const launcher = fileURLToPath(new URL('../../../native/build/criu-launcher', import.meta.url));

const TOOL = String.raw`
import json, os, socket, struct, sys
sk = socket.socket(fileno=int(os.environ["CRIU_TS_SIBLING_FD"]))
def ask(op, pid, tool):
    sk.send(struct.pack("Iii", op, pid, tool))
    return struct.unpack("i", sk.recv(4))[0]
out = {"in_use": ask(1, 1, os.getpid()), "bad_op": ask(9, int(sys.argv[1]), os.getpid())}
# a pid with no /proc entry may still be a live group's or session's id: try the next
for free in map(int, sys.argv[1:]):
    out["made"], out["free"] = ask(1, free, os.getpid()), free
    if out["made"] != -17:
        break
with open("/proc/%d/status" % free) as f:
    out["ppid"] = int(f.read().split("PPid:")[1].split()[0])
print(json.dumps(out), flush=True)
sys.exit(3)
`;

const DRIVER = String.raw`
import json, os, subprocess, sys, time
candidates = [p for p in range(30000, 20000, -1) if not os.path.exists("/proc/%d" % p)][:5]
run = subprocess.run([sys.argv[1], sys.executable, "-c", sys.argv[2], *map(str, candidates)], capture_output=True, text=True, timeout=60)
result = {"status": run.returncode, "me": os.getpid(), "stderr": run.stderr, "tool": json.loads(run.stdout or "{}")}
free = result["tool"].get("free", -1)
for _ in range(1500):
    got, status = os.waitpid(free, os.WNOHANG)
    if got == free:
        result["reaped"] = os.waitstatus_to_exitcode(status)
        break
    time.sleep(0.02)
print(json.dumps(result))
`;

t.test('criu-launcher clones a sibling on request, and it does not outlive the tool', { skip: existsSync(launcher) ? false : `${launcher} is not built` }, async (t) => {
  const run = spawnSync('/usr/bin/python3', ['-c', DRIVER, launcher, TOOL], { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  t.equal(run.status, 0, `the driver ran: ${run.stderr}`);
  const result = JSON.parse(run.stdout || '{}') as { status: number; me: number; stderr: string; reaped?: number; tool: Record<string, number> };
  t.equal(result.status, 3, `the tool's exit status came back through the launcher ${result.stderr}`);
  t.equal(result.tool.in_use, -17, 'a pid in use: -EEXIST');
  t.equal(result.tool.bad_op, -22, 'an unknown request: -EINVAL');
  t.equal(result.tool.made, result.tool.free, 'a free pid: made with that pid');
  t.equal(result.tool.ppid, result.me, "its parent is the launcher's parent");
  t.equal(result.reaped, 1, 'it exits once the tool that asked for it is gone, never seized');
});
