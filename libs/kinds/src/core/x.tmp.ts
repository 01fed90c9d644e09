import { PR, prctl, NT, ptraceGetRegset, ptraceSeize, ptraceInterrupt, waitpidWithin, WAIT, ptraceDetach } from '@criu-ts/kernel';
import { spawnSync } from 'node:child_process';
prctl(PR.SET_CHILD_SUBREAPER, 1);
const pid = Number(spawnSync('sh', ['-c', 'sleep 5 >/dev/null & echo $!'], { encoding: 'utf8' }).stdout.trim());
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
ptraceSeize(pid); ptraceInterrupt(pid); waitpidWithin(pid, WAIT.__WALL, 5000);
const x = ptraceGetRegset(pid, NT.X86_XSTATE, 16384);
console.log(x.length, x.readUInt32LE(464).toString(16), x.readBigUInt64LE(472).toString(16), x.readUInt32LE(468), x.readUInt32LE(480), x.readBigUInt64LE(512).toString(16));
ptraceDetach(pid);
