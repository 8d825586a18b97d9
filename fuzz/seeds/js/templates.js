const t = `import d from './no4.js' ${ import('./yes1.js') } tail`;
const r = /import e from '.\/no5.js'/g;
const q = `${ `${"nested"}` }`;
import(`./locale/${lang}.js`); import('./x/' + y);
