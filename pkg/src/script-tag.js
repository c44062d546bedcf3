// The script-tag bundle's entry: sets window.EdgeNet, and with data-site-id on the tag contributes
// without any other code: <script src="…/edgenet.min.js" data-site-id="my-site"
// data-cpu-limit="0.3" data-widget="#edgenet"></script>.
import * as EdgeNet from './edgenet.js';

const tag = document.currentScript;
const api = { ...EdgeNet };
window.EdgeNet = api;
if (tag && tag.dataset.siteId) {
  const opts = { siteId: tag.dataset.siteId };
  if (tag.dataset.cpuLimit !== undefined) opts.contribution = { cpuLimit: Number(tag.dataset.cpuLimit) };
  const start = () => {
    if (tag.dataset.widget) EdgeNet.createWidget({ container: tag.dataset.widget, theme: tag.dataset.theme || 'light' });
    api.node = EdgeNet.init(opts);
    api.node.catch((e) => console.error('EdgeNet:', e.message));
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
}
