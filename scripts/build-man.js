// Renders the dmadebug(1) man page and the bash and zsh completion scripts
// from the compiled help tables (dist/src/cli/help.js, through man.js and
// completion.js) into dist/man/dmadebug.1 and dist/completions/. Run by
// `npm run build`, after tsc; npm installs the page from package.json's "man".
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { completionScript } from '../dist/src/cli/completion.js';
import { manPage } from '../dist/src/cli/man.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
mkdirSync('dist/man', { recursive: true });
writeFileSync('dist/man/dmadebug.1', manPage(version));
mkdirSync('dist/completions', { recursive: true });
writeFileSync('dist/completions/dmadebug.bash', completionScript('bash'));
writeFileSync('dist/completions/_dmadebug', completionScript('zsh'));
