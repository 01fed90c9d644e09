// The whole-namespace lock, as upstream makes it, in a fresh namespace:
// locked, the rules are there (the iptables CRIU chain, or the nftables
// table with drop policies); unlocked, nothing of it is left.
import t from 'tap';
import { freshNetNs, inside, quietLog } from './net-ns.fixture.js';
import { IPTABLES_LOCK, lockNetNs, nftNsLockScript, unlockNetNs } from './net-ns-lock.js';

t.test("upstream's rules", async (t) => {
  t.match(IPTABLES_LOCK, /^\*filter\n:CRIU - \[0:0\]\n-I INPUT -j CRIU\n-I OUTPUT -j CRIU\n-A CRIU -m mark --mark 0xC114 -j ACCEPT\n-A CRIU -j DROP\nCOMMIT\n$/);
  t.match(nftNsLockScript('inet CRIU-x'), /add chain inet CRIU-x input \{ type filter hook input priority 0; policy drop; \}\nadd rule inet CRIU-x input meta mark 0xC114 accept/);
});

for (const method of ['iptables', 'nftables'] as const) {
  t.test(`${method}: lock, then unlock leaves nothing`, async (t) => {
    const ns = freshNetNs(t);
    lockNetNs(ns, { method, runId: 'unit' }, quietLog());
    const locked = inside(ns, ['nft', 'list', 'ruleset']);
    if (method === 'iptables') t.match(locked, /jump CRIU/, 'jumps to the CRIU chain');
    else t.match(locked, /table inet CRIU-unit[\s\S]*policy drop/, 'the lock table');
    t.ok(unlockNetNs(ns, { method, runId: 'unit' }, quietLog()), 'unlocked');
    t.notMatch(inside(ns, ['nft', 'list', 'ruleset']), /CRIU/, 'no CRIU chain or table left');
  });
}
