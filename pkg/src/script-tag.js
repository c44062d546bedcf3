// @ts-check
// The script-tag bundle's entry: sets window.EdgeNet, and with data-site-id on the tag contributes
// without any other code: <script src="…/edgenet.min.js" data-site-id="my-site"
// data-cpu-limit="0.3" data-backend="auto" data-widget="#edgenet"
// data-relay="wss://relay.example/ws" data-assets="/static/edgenet/dist/"></script>.
// Without code of the site's own, every failure is printed to the console with its EN code.
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
  // One relay, or several separated by spaces or commas (tried in turn).
  if (tag.dataset.relay) opts.relays = tag.dataset.relay.split(/[\s,]+/).filter(Boolean);
  if (tag.dataset.assets) opts.assetsUrl = tag.dataset.assets;
  // Every failure init reports, at start and later (relay errors, tasks that could not run).
  // (An EdgeNetError's message starts with its code.)
  opts.onError = (e) => console.error(`EdgeNet ${e.message}`);
  const start = () => {
    if (tag.dataset.widget) EdgeNet.createWidget({ container: tag.dataset.widget, theme: tag.dataset.theme || 'light' });
    api.node = EdgeNet.init(opts);
    api.node.catch(() => {}); // printed by onError
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
}
