import a from './a.js';
import { b, c as d } from "../b.js"
import * as ns from './ns.js';
export * from './star.js';
export { g } from './g.js';
const m=await import("./lazy.js");import('./opt.js',{with:{}});x.import("no.js");
//# sourceMappingURL=app.js.map
