// Prints the native sources for binding.gyp (the CPU-only build): [lib] + [cuda-stub] + [napi].
'use strict';
const fs = require('fs');
const path = require('path');
const text = fs.readFileSync(path.join(__dirname, '..', 'native', 'sources.txt'), 'utf8');
let section = '';
const out = [];
for (const raw of text.split('\n')) {
  const line = raw.trim();
  if (!line || line.startsWith('#')) continue;
  const m = /^\[(.+)\]$/.exec(line);
  if (m) { section = m[1]; continue; }
  if (section === 'lib' || section === 'cuda-stub' || section === 'napi') out.push(line);
}
process.stdout.write(out.join(' '));
