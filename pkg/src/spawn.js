// @ts-check
// Starts a Worker from a classic script URL. A page may load EdgeNet from another origin (a CDN),
// and Workers must be same-origin: then a tiny same-origin blob imports the script instead.
export function spawnWorker(url) {
  const origin = typeof location !== 'undefined' ? location.origin : null;
  if (new URL(url).origin === origin) return new Worker(url);
  const shim = new Blob([`importScripts(${JSON.stringify(url)});`], { type: 'text/javascript' });
  return new Worker(URL.createObjectURL(shim));
}
