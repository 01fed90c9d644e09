// The network namespace's sysctls in upstream's layout, read and written
// in a fresh namespace through /proc/sys with the tool's thread in it.
import t from 'tap';
import { SysctlType } from '@criu-ts/images';
import { inNetNs } from './net-ns-enter.js';
import { freshNetNs, inside } from './net-ns.fixture.js';
import { DEVCONFS4, DEVCONFS6, readConf, readIpv4Sysctls, readUnixConf, writeConf, writeIpv4Sysctls } from './net-sysctls.js';

t.test('conf sysctls: upstream order and types; written back, defaults skipped', async (t) => {
  const ns = freshNetNs(t);
  inside(ns, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.forwarding=1', 'net.ipv4.ping_group_range=0 100']);
  const all4 = inNetNs(ns, () => readConf('ipv4', 'all'));
  t.equal(all4.length, DEVCONFS4.length);
  t.same(all4[DEVCONFS4.indexOf('forwarding')], { type: SysctlType.CTL_32, iarg: 1 });
  const lo6 = inNetNs(ns, () => readConf('ipv6', 'lo'));
  t.equal(lo6.length, DEVCONFS6.length);
  t.same(lo6[DEVCONFS6.indexOf('stable_secret')], { type: SysctlType.CTL_STR }, 'an unset stable_secret has no value (EIO)');
  t.same(inNetNs(ns, readIpv4Sysctls), [{ type: SysctlType.CTL_STR, sarg: '0\t100\n' }]);
  t.same(inNetNs(ns, readUnixConf).length, 1);

  const target = freshNetNs(t);
  t.same(inNetNs(target, readIpv4Sysctls), [{ type: SysctlType.CTL_STR }], 'the default range has no value');
  inNetNs(target, () => {
    writeConf('ipv4', 'all', all4);
    writeIpv4Sysctls([{ type: SysctlType.CTL_STR, sarg: '0\t100\n' }]);
  });
  t.equal(inside(target, ['sysctl', '-n', 'net.ipv4.conf.all.forwarding']).trim(), '1');
  t.equal(inside(target, ['sysctl', '-n', 'net.ipv4.ping_group_range']).trim().replace(/\s+/g, ' '), '0 100');
  // a link's value equal to "default" is not written
  const defaults = inNetNs(target, () => readConf('ipv4', 'default'));
  const lo = defaults.map((entry, i) => (DEVCONFS4[i] === 'rp_filter' ? { ...entry, iarg: 2 } : entry));
  inNetNs(target, () => writeConf('ipv4', 'lo', lo, defaults));
  t.equal(inside(target, ['sysctl', '-n', 'net.ipv4.conf.lo.rp_filter']).trim(), '2');
  t.throws(() => inNetNs(target, () => writeConf('ipv4', '../x', lo)), /bad interface name/);
});
