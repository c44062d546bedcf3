// @ts-check
// The script-tag bundle's entry: sets window.EdgeNet, and with data-site-id on the tag contributes
// without any other code: <script src="…/edgenet.min.js" data-site-id="my-site"
// data-cpu-limit="0.3" data-backend="auto" data-widget="#edgenet"></script>.
import * as EdgeNet from './edgenet.js';

const tag = document.currentScript;
/** @type {Record<string, any>} */
const api = { ...EdgeNet };
window.EdgeNet = api;
if (tag && tag.dataset.siteId) {
  const opts = { siteId: tag.dataset.siteId };
  const contribution = {};
  if (tag.dataset.cpuLimit !== undefined) contribution.cpuLimit = Number(tag.dataset.cpuLimit);
  if (tag.dataset.backend !== undefined) contribution.backend = tag.dataset.backend;
  if (Object.keys(contribution).length) opts.contribution = contribution;
  const start = () => {
    if (tag.dataset.widget) EdgeNet.createWidget({ container: tag.dataset.widget, theme: tag.dataset.theme || 'light' });
    api.node = EdgeNet.init(opts);
    api.node.catch((e) => console.error('EdgeNet:', e.message));
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
}
