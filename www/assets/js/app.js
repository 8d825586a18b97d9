// Entry module: static, re-exported and dynamic imports by relative path.
import { greet } from './modules/greet.js';
import * as format from "./modules/format.js";

export { VERSION } from './modules/version.js';

const status = document.getElementById('js-status');
if (status) {
  status.textContent = format.label('JavaScript modules loaded');
}

// The page may come from the edge's cache: what the cache did, and the facts of this very
// request (origin, HTTPS, host, client address), come from requests that are never shared.
fetch(location.href, { method: 'HEAD', cache: 'no-store' }).then((r) => {
  const el = document.querySelector('[data-cache-status]');
  if (el) el.textContent = r.headers.get('cache-status') ?? 'no Cache-Status';
}).catch(() => {});
fetch('/whoami', { cache: 'no-store' }).then((r) => r.json()).then((me) => {
  const el = document.querySelector('[data-whoami]');
  if (el) el.textContent = `origin ${me.origin}, ${me.secure ? 'HTTPS' : 'HTTP'}, host ${me.host}, client ${me.client_ip}`;
}).catch(() => {});

document.getElementById('greet')?.addEventListener('click', async () => {
  const { celebrate } = await import('./modules/lazy.js');
  celebrate(greet('shopper'));
});
//# sourceMappingURL=app.js.map
