import t from 'tap';
import { nameDirectory, unixNameText, unixPathText } from './unix-name.js';

t.test('names as text', async (t) => {
  t.equal(unixPathText(Buffer.from('/run/a.sock\0')), '/run/a.sock', 'the NUL bind(2) adds is cut');
  t.equal(unixNameText(Buffer.from('\0abstract')), '@abstract', 'abstract names shown with @');
  t.equal(unixNameText(new Uint8Array(0)), '(unbound)');
});

t.test('the directory a relative name was bound in', async (t) => {
  t.equal(nameDirectory('/srv/app/run/x.sock', 'run/x.sock'), '/srv/app');
  t.equal(nameDirectory('/x.sock', 'x.sock'), '/');
  t.equal(nameDirectory('/srv/y.sock', 'x.sock'), undefined, 'a path not ending in the name');
});
