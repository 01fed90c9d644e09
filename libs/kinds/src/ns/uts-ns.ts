// The tree's own UTS namespace (uts_namespaces(7)): its host and domain
// names, utsns-ID.img {nodename, domainname}, read and written through
// /proc/sys/kernel/{hostname,domainname} from the tool's thread inside the
// namespace (setns), as sethostname(2)/setdomainname(2) would set them.
import { readFileSync, writeFileSync } from 'node:fs';
import { CLONE } from '@criu-ts/kernel';
import { imagePath, readOne, writeImage } from '@criu-ts/images';
import { withNamespace, type NamespaceKind } from './namespace.js';

const HOSTNAME = '/proc/sys/kernel/hostname';
const DOMAINNAME = '/proc/sys/kernel/domainname';

function readName(path: string): string {
  return readFileSync(path, 'utf8').replace(/\n$/, '');
}

export const utsNamespace: NamespaceKind = {
  name: 'uts',
  cloneFlag: CLONE.NEWUTS,
  images: ['utsns'],
  dump(ctx, id, pid) {
    const entry = withNamespace(utsNamespace, pid, () => ({ nodename: readName(HOSTNAME), domainname: readName(DOMAINNAME) }));
    writeImage(imagePath(ctx.options.imagesDir, 'utsns', id), 'utsns', [entry]);
    ctx.log.info(`uts namespace ${id}: hostname ${JSON.stringify(entry.nodename)}, domain ${JSON.stringify(entry.domainname)}`);
  },
  restore(ctx, id, root) {
    const entry = readOne(ctx.options.imagesDir, 'utsns', id);
    withNamespace(utsNamespace, root.pid, () => {
      writeFileSync(HOSTNAME, entry.nodename);
      writeFileSync(DOMAINNAME, entry.domainname);
    });
    ctx.log.info(`uts namespace ${id}: hostname ${JSON.stringify(entry.nodename)} set`);
  },
};
