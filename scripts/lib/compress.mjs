// Precompresses the browser bundle once per build: every .wasm, .js and .css in the given folder
// gets a brotli (.br, quality 11) and a gzip (.gz, level 9) copy, which the server sends as they
// are to browsers that accept them (tower-http ServeDir precompressed_br/precompressed_gzip)
// instead of compressing on every request at a fast, weaker setting. Skips files whose copies
// are newer than they are. Node's own zlib: nothing to install.
//
// usage: node scripts/lib/compress.mjs target/site/pkg
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/lib/compress.mjs DIR');
  process.exit(2);
}
const fresh = (copy, source) => {
  try {
    return statSync(copy).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    return false;
  }
};
let written = 0;
for (const name of readdirSync(dir)) {
  if (!/\.(wasm|js|css)$/.test(name)) continue;
  const file = path.join(dir, name);
  const data = readFileSync(file);
  if (!fresh(`${file}.br`, file)) {
    const br = zlib.brotliCompressSync(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    });
    writeFileSync(`${file}.br`, br);
    written++;
  }
  if (!fresh(`${file}.gz`, file)) {
    writeFileSync(`${file}.gz`, zlib.gzipSync(data, { level: 9 }));
    written++;
  }
}
console.log(`compress: ${written} precompressed files written in ${dir}`);
