// Entry module: static, re-exported and dynamic imports by relative path.
import { greet } from './modules/greet.js';
import * as format from "./modules/format.js";

export { VERSION } from './modules/version.js';

const status = document.getElementById('js-status');
if (status) {
  status.textContent = format.label('JavaScript modules loaded');
}

document.getElementById('greet')?.addEventListener('click', async () => {
  const { celebrate } = await import('./modules/lazy.js');
  celebrate(greet('shopper'));
});
//# sourceMappingURL=app.js.map
